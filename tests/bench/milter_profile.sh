#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# milter_profile.sh - where moat-milter's CPU per message goes, next to the
# null milter's, in instructions (valgrind --tool=callgrind).
#
#   tests/bench/milter_profile.sh [MSGS]        (default 200)
#
# One stack (ctl/moat-stack up); moat-milter is stopped and started again
# under callgrind, counting inside libmilter's session loop only (mi_engine:
# every callback, scan and reply; not the start-up or the signature load);
# MSGS messages go through Postfix, and the profile is written when it
# stops.  The null milter
# (tests/bench/null_milter) is profiled the same way on its own port.
# Instruction counts do not depend on the machine's load: a change in
# Ir per message is the change in work, where wall-clock throughput on a
# shared VM moves by +-20 %.
#
# Env: WORKLOAD=10k|mix (default 10k: gen_mix.py's 10 KB clean message;
# mix: milter_bench.sh's 20 files, 5 % infected), SESSIONS (default 2),
# SIGSET=test|big (big: gen_sigs.py BIG_HASHES BIG_BODY, default
# 1,000,000 + 20,000), OUT (directory for callgrind.out.* and the
# annotations, default /tmp/moat-profile), MOAT_BUILD_DIR / MOAT_BIN, KEEP=1.
# Prints Ir per message of each milter and the top functions of moat-milter
# (self and inclusive).  Needs root, valgrind.  Every wait is bounded.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
BIN=$(cd "${MOAT_BUILD_DIR:-${MOAT_BIN:-$ROOT/build}}" && pwd -P)
MSGS=${1:-200}
SESSIONS=${SESSIONS:-2}
WORKLOAD=${WORKLOAD:-10k}
SIGSET=${SIGSET:-test}
OUT=${OUT:-/tmp/moat-profile}
TMO=${RUN_TIMEOUT:-900}
command -v valgrind >/dev/null && command -v callgrind_annotate >/dev/null ||
	{ echo "needs valgrind (callgrind_annotate)" >&2; exit 1; }
mkdir -p "$OUT"
DIR=$(mktemp -d /tmp/moat-profile-XXXXXX)
chmod 0755 "$DIR"
say() { printf 'profile: %s\n' "$*" >&2; }
VG_PID=""
cleanup() {
	[ -n "$VG_PID" ] && kill "$VG_PID" 2>/dev/null || true
	MOAT_BUILD_DIR=$BIN "$ROOT/ctl/moat-stack" down "$DIR" >/dev/null 2>&1 || true
	[ "${KEEP:-0}" = 1 ] || rm -rf "$DIR"
}
trap cleanup EXIT

MOAT_BUILD_DIR=$BIN "$ROOT/ctl/moat-stack" up "$DIR" >"$DIR.up.log" 2>&1 || { cat "$DIR.up.log"; exit 1; }
rm -f "$DIR.up.log"
# shellcheck disable=SC1091
. "$DIR/stack.env"
[ -n "${MILTER_SOCKET:-}" ] || { echo "moat-milter is not on a UNIX socket" >&2; exit 1; }
sqlite3 "$DB" "INSERT INTO policies (name, scan_mode, on_infected) VALUES ('bench', 'all', 'reject');
  INSERT INTO recipient_policies (address, policy_id) SELECT 'bench@beta.example', id FROM policies WHERE name = 'bench';"
[ "$SIGSET" = big ] && python3 "$ROOT/tests/bench/gen_sigs.py" "$SIGS_DIR" "${BIG_HASHES:-1000000}" "${BIG_BODY:-20000}"
MIX="$DIR/mix"
mkdir -p "$MIX"
python3 "$ROOT/tests/bench/gen_mix.py" "$MIX" /usr/share/clamav-testfiles/clam.zip

NULL_SOCK="$RUN_DIR/null.sock"
NULL_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf '127.0.0.1:%s inet n - n - - smtpd\n  -o smtpd_milters=unix:%s\n  -o syslog_name=postfix-moat/null\n' \
	"$NULL_PORT" "$NULL_SOCK" >>"$POSTFIX_CONFIG_DIR/master.cf"
postfix -c "$POSTFIX_CONFIG_DIR" reload >/dev/null 2>&1

# Stop the stack's moat-milter; it is started under callgrind below, as
# the user moat from the start (valgrind's own files are then moat's),
# so its UNIX socket is made 0666 instead of group postfix.
sed -i -e '/^  socket_group = /d' -e 's/^\(milter = {\)$/\1\n  socket_mode = "0666";/' "$CONF"
chown moat "$OUT"
kill "$(cat "$RUN_DIR/moat-milter.pid")"
for _ in $(seq 1 100); do kill -0 "$(cat "$RUN_DIR/moat-milter.pid")" 2>/dev/null || break; sleep 0.1; done

wait_queue() {
	for _ in $(seq 1 600); do
		postqueue -c "$POSTFIX_CONFIG_DIR" -p 2>/dev/null | grep -q 'Mail queue is empty' && return 0
		sleep 0.5
	done
	say "warning: queue not empty after 300 s"
}
# send PORT N: N messages of the workload (bounded by TMO); prints the count.
send() {
	local port=$1 n=$2 f pids=() per
	case $WORKLOAD in
	10k)
		timeout "$TMO" smtp-source -A -s "$SESSIONS" -m "$n" -F "$MIX/clean-06-10k.eml" \
			-f bench@example.net -t bench@beta.example -M bench.example "127.0.0.1:$port" \
			>>"$DIR/log/smtp-source.log" 2>&1 || say "warning: smtp-source failed or timed out"
		echo "$n" ;;
	mix)
		per=$(( (n + 19) / 20 ))
		for f in "$MIX"/*.eml; do
			timeout "$TMO" smtp-source -A -s 1 -m "$per" -F "$f" -f bench@example.net \
				-t bench@beta.example -M bench.example "127.0.0.1:$port" \
				>>"$DIR/log/smtp-source.log" 2>&1 &
			pids+=($!)
		done
		for f in "${pids[@]}"; do wait "$f" || true; done
		echo $(( per * 20 )) ;;
	esac
}

# profile NAME PORT SOCKET CMD...: CMD under callgrind, counting only
# inside libmilter's session loop (--toggle-collect=mi_engine: every
# callback, scan and reply of every SMTP session; not start-up, not the
# background threads); MSGS messages, then TERM (callgrind writes its file
# at exit).  Prints "Ir messages file".
profile() {
	local name=$1 port=$2 sock=$3 n total f
	f="$OUT/callgrind.out.$name"
	shift 3
	rm -f "$sock" "$f"
	# shellcheck disable=SC2086
	setsid ${RUNAS:-} valgrind --tool=callgrind --collect-atstart=no --toggle-collect=mi_engine \
		--callgrind-out-file="$f" "$@" </dev/null >>"$DIR/log/valgrind-$name.log" 2>&1 &
	VG_PID=$!
	for _ in $(seq 1 $((TMO * 2))); do
		[ -S "$sock" ] && ss -Hlx "src $sock" | grep -q . && break
		kill -0 "$VG_PID" 2>/dev/null || { tail "$DIR/log/valgrind-$name.log" >&2; exit 1; }
		sleep 0.5
	done
	[ -S "$sock" ] || { echo "$name did not open $sock" >&2; exit 1; }
	wait_queue
	n=$(send "$port" "$MSGS")
	wait_queue
	kill "$VG_PID" 2>/dev/null || true
	for _ in $(seq 1 600); do kill -0 "$VG_PID" 2>/dev/null || break; sleep 0.2; done
	kill -0 "$VG_PID" 2>/dev/null && { kill -KILL "$VG_PID"; echo "$name did not stop in 120 s" >&2; exit 1; }
	VG_PID=""
	[ -s "$f" ] || { echo "no profile $f" >&2; exit 1; }
	total=$(callgrind_annotate --inclusive=no "$f" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
	echo "$total $n $f"
}

say "null milter under callgrind ($WORKLOAD, $MSGS messages)"
read -r NULL_IR NULL_N NULL_F < <(profile null "$NULL_PORT" "$NULL_SOCK" "$BIN/tests/bench/null_milter" -s "unix:$NULL_SOCK")
say "moat-milter under callgrind ($WORKLOAD, $MSGS messages, signatures: $SIGSET)"
read -r MOAT_IR MOAT_N MOAT_F < <(RUNAS="setpriv --reuid moat --regid moat --init-groups" \
	profile moat "$SMTP_PORT" "$MILTER_SOCKET" "$BIN/milter/moat-milter" -c "$CONF" -f)
VERD=$(grep -c ' verdict=' "$DIR/log/valgrind-moat.log" || true)

callgrind_annotate --inclusive=no "$MOAT_F" >"$OUT/moat.self.txt" 2>/dev/null
callgrind_annotate --inclusive=yes "$MOAT_F" >"$OUT/moat.incl.txt" 2>/dev/null
callgrind_annotate --inclusive=no "$NULL_F" >"$OUT/null.self.txt" 2>/dev/null
python3 - "$NULL_IR" "$NULL_N" "$MOAT_IR" "$MOAT_N" "$OUT" "$VERD" "$WORKLOAD" "$SIGSET" <<'PY'
import re, sys
nir, nn, mir, mn, out, verd, wl, sigset = sys.argv[1:]
nir, nn, mir, mn = int(nir), int(nn), int(mir), int(mn)
print("workload %s, signatures %s; moat-milter logged %s messages (warm-up included)" % (wl, sigset, verd))
print("null milter:  %12d Ir / %d msgs = %8.0f Ir per message" % (nir, nn, nir / nn))
print("moat-milter:  %12d Ir / %d msgs = %8.0f Ir per message (%.2fx null)" % (mir, mn, mir / mn, (mir / mn) / (nir / nn)))
def top(path, k):
    rows = []
    for l in open(path):
        m = re.match(r"\s*([\d,]+)\s+\(\s*([\d.]+)%\)\s+(.*)", l)
        if m:
            rows.append((int(m.group(1).replace(",", "")), float(m.group(2)), m.group(3).strip()))
    return rows[:k]
for kind, f in (("self", "moat.self.txt"), ("inclusive", "moat.incl.txt")):
    print("\nmoat-milter, top functions (%s), Ir per message and %% of its total:" % kind)
    for ir, pc, fn in top(out + "/" + f, 30 if kind == "self" else 45):
        print("  %9.0f  %5.1f%%  %s" % (ir / mn, pc, fn[:110]))
print("\nnull milter, top functions (self):")
for ir, pc, fn in top(out + "/null.self.txt", 12):
    print("  %9.0f  %5.1f%%  %s" % (ir / nn, pc, fn[:110]))
PY
