#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# milter_bench.sh - moat-milter against Postfix alone and against Debian's
# clamav-milter + clamd, in one run, on one Postfix instance.
#
#   tests/bench/milter_bench.sh [MESSAGES [SESSIONS]]     (default 1000 20)
#   ROUNDS=3 ...: each port measured three times in turn, medians printed
#
# One stack (ctl/moat-stack up, in a fresh /tmp dir) gives Postfix with the
# moat-milter port (SMTP_PORT) and a port without milter (REINJECT_PORT);
# this script starts clamd and clamav-milter privately (UNIX/loopback
# sockets, the stack's signature directory) and adds a third smtpd port
# that uses clamav-milter.  smtp-source sends the same message mix to each
# port in turn: 20 message files, 2-100 KB, one of them (5%) carrying
# clam.zip; every file is sent MESSAGES/20 times, one smtp-source per file,
# all at once (SESSIONS concurrent sessions in all).  Postfix's queue is
# drained between runs.  Infected mail is rejected on both milters (moat:
# a recipient policy scan all / reject; clamav-milter: OnInfected Reject).
#
# Prints msgs/s per port, the ratios, CPU per message, and the p99 of
# moat-milter's own time per 10 KB clean message, under the mix and with 1,
# 4 and 8 sessions of 10 KB messages alone (the "time=" of its per-message
# log lines: time spent in its callbacks, scan included).  Needs root.
# MOAT_BIN / MOAT_BUILD_DIR: build directory (default ./build).
# MILTER_THREADS: moat-milter's scan concurrency for the run; MILTER_OPTS:
# other settings of its group ("mime_walk = false;").
# SCAN_MODE: the bench policy's scan_mode (default all; "none" measures the
# milter path without libclamav).  NO_CLAMAV=1: skip the clamav-milter port.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
BIN=$(cd "${MOAT_BUILD_DIR:-${MOAT_BIN:-$ROOT/build}}" && pwd -P)
N=${1:-1000}
FILES=20
PER=$(( (N + FILES - 1) / FILES ))
N=$(( PER * FILES ))
DIR=$(mktemp -d /tmp/moat-bench-XXXXXX)
chmod 0755 "$DIR"
say() { printf 'bench: %s\n' "$*" >&2; }

cleanup() {
	for p in clamav-milter clamd; do
		[ -s "$DIR/run/$p.pid" ] && kill "$(cat "$DIR/run/$p.pid")" 2>/dev/null || true
	done
	MOAT_BUILD_DIR=$BIN "$ROOT/ctl/moat-stack" down "$DIR" >/dev/null 2>&1 || true
	[ "${KEEP:-0}" = 1 ] || rm -rf "$DIR"
}
trap cleanup EXIT

say "stack in $DIR (binaries from $BIN)"
MOAT_BUILD_DIR=$BIN "$ROOT/ctl/moat-stack" up "$DIR" >"$DIR.up.log" 2>&1 || { cat "$DIR.up.log"; exit 1; }
rm -f "$DIR.up.log"
# shellcheck disable=SC1091
. "$DIR/stack.env"
[ "${MILTER:-}" = running ] || { echo "moat-milter is not running" >&2; exit 1; }

# MILTER_THREADS=N: moat-milter's scan concurrency (default: its own, CPUs);
# MILTER_OPTS="mime_walk = false;": more milter settings for the run.
if [ -n "${MILTER_THREADS:-}${MILTER_OPTS:-}" ]; then
	[ -n "${MILTER_THREADS:-}" ] && MILTER_OPTS="${MILTER_OPTS:-} threads = $MILTER_THREADS;"
	sed -i "s/^\(milter = {\)\$/\1\n  $MILTER_OPTS/" "$CONF"
	MOAT_BUILD_DIR=$BIN "$ROOT/ctl/moat-stack" restart "$DIR" milter >/dev/null
fi

# --- the recipient's policy: scan everything, reject infected mail
sqlite3 "$DB" "INSERT INTO policies (name, scan_mode, on_infected) VALUES ('bench', '${SCAN_MODE:-all}', 'reject');
  INSERT INTO recipient_policies (address, policy_id) SELECT 'bench@beta.example', id FROM policies WHERE name = 'bench';"

# --- clamd + clamav-milter, private
read -r CLAM_MILTER_PORT CLAM_SMTP_PORT <<<"$(python3 -c '
import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(*[x.getsockname()[1] for x in s])')"
mkdir -p "$DIR/spool/clamd"
cat >"$DIR/clamd.conf" <<CONF
LocalSocket $DIR/run/clamd.sock
DatabaseDirectory $SIGS_DIR
Foreground yes
LogFile $DIR/log/clamd.log
TemporaryDirectory $DIR/spool/clamd
PidFile $DIR/run/clamd.pid
CONF
cat >"$DIR/clamav-milter.conf" <<CONF
MilterSocket inet:$CLAM_MILTER_PORT@127.0.0.1
ClamdSocket unix:$DIR/run/clamd.sock
Foreground yes
OnInfected Reject
OnFail Defer
AddHeader Replace
LogFile $DIR/log/clamav-milter.log
PidFile $DIR/run/clamav-milter.pid
TemporaryDirectory $DIR/spool/clamd
CONF
setsid clamd -c "$DIR/clamd.conf" </dev/null >>"$DIR/log/clamd.out" 2>&1 &
echo $! >"$DIR/run/clamd.pid"
for _ in $(seq 1 300); do [ -S "$DIR/run/clamd.sock" ] && break; sleep 0.2; done
[ -S "$DIR/run/clamd.sock" ] || { cat "$DIR/log/clamd.out" "$DIR/log/clamd.log" >&2; exit 1; }
setsid clamav-milter -c "$DIR/clamav-milter.conf" </dev/null >>"$DIR/log/clamav-milter.out" 2>&1 &
echo $! >"$DIR/run/clamav-milter.pid"
for _ in $(seq 1 100); do ss -Hltn "sport = :$CLAM_MILTER_PORT" | grep -q . && break; sleep 0.2; done
printf '127.0.0.1:%s inet n - n - - smtpd\n  -o smtpd_milters=inet:127.0.0.1:%s\n  -o syslog_name=postfix-moat/clamav\n' \
	"$CLAM_SMTP_PORT" "$CLAM_MILTER_PORT" >>"$POSTFIX_CONFIG_DIR/master.cf"
postfix -c "$POSTFIX_CONFIG_DIR" reload >/dev/null 2>&1
for _ in $(seq 1 100); do ss -Hltn "sport = :$CLAM_SMTP_PORT" | grep -q . && break; sleep 0.2; done
ss -Hltn "sport = :$CLAM_SMTP_PORT" | grep -q . || { echo "clamav smtpd port not up" >&2; exit 1; }

# --- the message mix
MIX="$DIR/mix"
mkdir -p "$MIX"
python3 "$ROOT/tests/bench/gen_mix.py" "$MIX" /usr/share/clamav-testfiles/clam.zip

now() { date +%s.%N; }
wait_queue() {
	for _ in $(seq 1 600); do
		postqueue -c "$POSTFIX_CONFIG_DIR" -p 2>/dev/null | grep -q 'Mail queue is empty' && return 0
		sleep 0.5
	done
	say "warning: queue not empty after 300 s"
}

# run PORT NAME: prints msgs/s
run() {
	local port=$1 name=$2 t0 t1 f pids=()
	wait_queue
	t0=$(now)
	for f in "$MIX"/*.eml; do
		smtp-source -A -s 1 -m "$PER" -F "$f" -f bench@example.net -t bench@beta.example \
			-M bench.example "127.0.0.1:$port" >>"$DIR/log/smtp-source-$name.log" 2>&1 &
		pids+=($!)
	done
	for f in "${pids[@]}"; do wait "$f" || true; done
	t1=$(now)
	python3 -c "import sys; print('%.1f' % ($N / ($t1 - $t0)))"
}

say "$N messages per port ($FILES files x $PER, $FILES concurrent sessions; 1 file in 20 infected)"
# ROUNDS=n: the three ports in turn, n times; each figure is the median.
median() { python3 -c 'import sys, statistics; print("%.1f" % statistics.median(map(float, sys.argv[1:])))' "$@"; }
A_PLAIN=() A_MOAT=() A_CLAM=()
# A warm-up round, not counted: Postfix starts its smtpd, cleanup and smtp
# processes, the milters their threads, the caches fill.
for port in "$REINJECT_PORT" "$SMTP_PORT" "$CLAM_SMTP_PORT"; do
	[ "$port" = "$CLAM_SMTP_PORT" ] && [ "${NO_CLAMAV:-0}" = 1 ] && continue
	run "$port" warmup >/dev/null
done
MOAT_LOG_START=$(wc -c <"$LOG_DIR/moat-milter.log")
# cpu_ms PIDFILE...: user+system CPU of those processes so far, in ms.
cpu_ms() {
	local f t=0 pid
	for f in "$@"; do
		pid=$(cat "$f")
		t=$((t + $(awk '{ print $14 + $15 }' "/proc/$pid/stat")))
	done
	echo $((t * 1000 / $(getconf CLK_TCK)))
}
CPU_MOAT=0 CPU_CLAM=0
for round in $(seq 1 "${ROUNDS:-1}"); do
	A_PLAIN+=("$(run "$REINJECT_PORT" plain)")
	wait_queue
	c0=$(cpu_ms "$RUN_DIR/moat-milter.pid")
	A_MOAT+=("$(run "$SMTP_PORT" moat)")
	CPU_MOAT=$((CPU_MOAT + $(cpu_ms "$RUN_DIR/moat-milter.pid") - c0))
	if [ "${NO_CLAMAV:-0}" = 1 ]; then A_CLAM+=(nan); else
		wait_queue
		c0=$(cpu_ms "$DIR/run/clamd.pid" "$DIR/run/clamav-milter.pid")
		A_CLAM+=("$(run "$CLAM_SMTP_PORT" clamav)")
		CPU_CLAM=$((CPU_CLAM + $(cpu_ms "$DIR/run/clamd.pid" "$DIR/run/clamav-milter.pid") - c0))
	fi
	say "round $round: postfix alone ${A_PLAIN[-1]}, moat-milter ${A_MOAT[-1]}, clamav-milter+clamd ${A_CLAM[-1]} msgs/s"
done
R_PLAIN=$(median "${A_PLAIN[@]}")
R_MOAT=$(median "${A_MOAT[@]}")
R_CLAM=$(median "${A_CLAM[@]}")
say "postfix alone:        $R_PLAIN msgs/s"
say "moat-milter:          $R_MOAT msgs/s"
say "clamav-milter+clamd:  $R_CLAM msgs/s"
# Ratios within each round (the VM's speed drifts between rounds), median.
python3 - "${A_PLAIN[*]}" "${A_MOAT[*]}" "${A_CLAM[*]}" <<'PY' >&2
import statistics, sys
p, m, c = ([float(x) for x in a.split()] for a in sys.argv[1:])
rp = [b / a for a, b in zip(p, m)]
rc = [b / a for a, b in zip(c, m)]
print("bench: per round, moat/postfix alone: %s -> median %.0f%%"
      % (" ".join("%.0f%%" % (100 * x) for x in rp), 100 * statistics.median(rp)))
print("bench: per round, moat/clamav-milter: %s -> median %.2fx"
      % (" ".join("%.2fx" % x for x in rc), statistics.median(rc)))
PY
wait_queue
# Latency of a 10 KB clean message at lighter loads: S concurrent sessions
# (LAT_SESSIONS, default "1 4 8"), 200 messages in all, to moat-milter.
LAT_START=$(wc -c <"$LOG_DIR/moat-milter.log")
LAT_LOGS=()
for s in ${LAT_SESSIONS:-1 4 8}; do
	wait_queue
	start=$(wc -c <"$LOG_DIR/moat-milter.log")
	pids=()
	for _ in $(seq 1 "$s"); do
		smtp-source -A -s 1 -m $((200 / s)) -F "$MIX/clean-06-10k.eml" -f bench@example.net \
			-t bench@beta.example -M bench.example "127.0.0.1:$SMTP_PORT" \
			>>"$DIR/log/smtp-source-latency.log" 2>&1 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || true; done
	sleep 1
	tail -c +"$((start + 1))" "$LOG_DIR/moat-milter.log" >"$DIR/moat-latency-$s.log"
	LAT_LOGS+=("$s:$DIR/moat-latency-$s.log")
done
wait_queue

MOAT_RSS=$(ps -o rss= -p "$(cat "$RUN_DIR/moat-milter.pid")" | tr -d ' ')
CLAMD_RSS=$(ps -o rss= -p "$(cat "$DIR/run/clamd.pid")" | tr -d ' ')
CMIL_RSS=$(ps -o rss= -p "$(cat "$DIR/run/clamav-milter.pid")" | tr -d ' ')

head -c "$LAT_START" "$LOG_DIR/moat-milter.log" | tail -c +"$((MOAT_LOG_START + 1))" >"$DIR/moat-bench.log"
python3 - "$DIR/moat-bench.log" "${LAT_LOGS[*]}" "$R_PLAIN" "$R_MOAT" "$R_CLAM" "$MOAT_RSS" "$CLAMD_RSS" "$CMIL_RSS" "$N" \
	"$CPU_MOAT" "$CPU_CLAM" "${ROUNDS:-1}" <<'PY'
import re, sys
log, latlog, plain, moat, clam, mrss, crss, cmrss, n, cpum, cpuc, rounds = sys.argv[1:]
plain, moat, clam = float(plain), float(moat), float(clam)
lines = open(log, errors="replace").read().splitlines()
per = [l for l in lines if " verdict=" in l]
inf = sum(1 for l in per if "verdict=infected" in l)
rx = re.compile(r" size=(\d+) .*verdict=clean .*time=([\d.]+)ms scan=([\d.]+)ms wait=([\d.]+)ms")
s10 = [m for l in per for m in [rx.search(l)] if m and 10240 <= int(m.group(1)) < 12288]
t10 = sorted(float(m.group(2)) for m in s10)
w10 = sorted(float(m.group(2)) - float(m.group(4)) for m in s10)
sc10 = sorted(float(m.group(3)) for m in s10)
def pct(v, p):
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))] if v else float("nan")
print("messages per port:            %s" % n)
print("postfix alone:                %.1f msgs/s" % plain)
print("moat-milter:                  %.1f msgs/s  (%.0f%% of postfix alone)" % (moat, 100 * moat / plain))
print("clamav-milter + clamd:        %.1f msgs/s  (%.0f%% of postfix alone)" % (clam, 100 * clam / plain))
print("moat-milter / clamav-milter:  %.2fx" % (moat / clam))
msgs = int(n) * int(rounds)
print("CPU per message: moat-milter %.2f ms, clamd + clamav-milter %.2f ms"
      % (int(cpum) / msgs, int(cpuc) / msgs))
print("moat-milter log: %d messages, %d infected" % (len(per), inf))
print("moat-milter time, 10 KB clean (%d samples): p50 %.2f ms, p99 %.2f ms, max %.2f ms"
      % (len(t10), pct(t10, 50), pct(t10, 99), t10[-1] if t10 else float("nan")))
print("  of which waiting for a scan slot excluded:   p50 %.2f ms, p99 %.2f ms"
      % (pct(w10, 50), pct(w10, 99)))
print("  libclamav pass alone:                        p50 %.2f ms, p99 %.2f ms"
      % (pct(sc10, 50), pct(sc10, 99)))
for spec in latlog.split():
    sessions, path = spec.split(":", 1)
    lat = [m for l in open(path, errors="replace") for m in [rx.search(l)] if m]
    lt = sorted(float(m.group(2)) for m in lat)
    print("moat-milter time, 10 KB clean, %s session(s) (%d samples): p50 %.2f ms, p99 %.2f ms, max %.2f ms"
          % (sessions, len(lt), pct(lt, 50), pct(lt, 99), lt[-1] if lt else float("nan")))
print("RSS after the run: moat-milter %s KB, clamd %s KB, clamav-milter %s KB" % (mrss, crss, cmrss))
PY
