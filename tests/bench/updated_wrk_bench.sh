#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# updated_wrk_bench.sh - moat-updated's private mirror against Debian's
# nginx serving the same files, with wrk on loopback, in one run.
#
#   tests/bench/updated_wrk_bench.sh                 (3 rounds of 10 s per case)
#   ROUNDS=5 DURATION=10 tests/bench/updated_wrk_bench.sh
#
# One stack (ctl/moat-stack up, in a fresh /tmp dir) gives moat-updated with
# authorization on: wrk connects from 127.0.0.1, which is the network of
# the demo subscriber Alpha, so every request goes through access_decide()
# (the policy snapshot's network lookup) and becomes a `downloads` row.
# This script starts a private nginx (its own config, a free loopback port,
# two worker processes = the CPUs, sendfile on, tcp_nopush, keep-alive,
# an access log line per request to a file, as moat-updated writes one per
# request to its log file) whose root is the stack's mirror directory, so
# both serve the very same files:
#
#   /health          moat-updated's fixed "ok\n"; nginx: return 200 "ok\n"
#   bench-1.cdiff    1 byte                       (floor: per-request cost)
#   bench300k.cvd    300 KiB, a valid CVD header  (requests/s)
#   bench100m.cvd    100 MiB, a valid CVD header  (MB/s)
#
# (The .cvd files carry a parseable 512-byte header with random bytes
# after it: moat-updated reads the header for Last-Modified and
# If-Modified-Since, as it does for real databases.)
#
# wrk: keep-alive, CONNS connections (4), WRK_THREADS threads (2),
# DURATION seconds (10) per case.  Each round measures every case on both
# servers back to back, the server that goes first alternating between
# rounds; the ratio moat/nginx is taken per round, and min / median / max
# over the rounds are printed (the machine is shared: the medians are the
# figures, the spread is the noise).  "cpu us/req" is the user+system
# time the server's processes spent during the case (/proc/PID/stat; nginx:
# its workers) over the requests served; wrk runs on the same 2 CPUs.
# Every reply must be a 2xx (wrk's status errors): the script fails if not.
#
# BASIC=1 (default): one more 300 KiB case with Basic credentials (a login
# of the subscriber Beta, whose network 127.0.0.1 is not: admitted by the
# password alone), nginx with auth_basic against the very same yescrypt
# hash (libcrypt), so both hash per request.
#
# MOAT_BUILD_DIR / MOAT_BIN: build directory (default ./build).
# UPDATED_OPTS: more settings for moat-updated's group for the run, e.g.
# "threads = 2;" (restarted with them).  NGINX_WORKERS: nginx's
# worker_processes (default 2).  KEEP=1: keep the directory.  Needs root.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
BIN=$(cd "${MOAT_BUILD_DIR:-${MOAT_BIN:-$ROOT/build}}" && pwd -P)
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CONNS=${CONNS:-4}
WRK_THREADS=${WRK_THREADS:-2}
NGINX_WORKERS=${NGINX_WORKERS:-2}
BASIC=${BASIC:-1}
DIR=$(mktemp -d /tmp/moat-wrk-XXXXXX)
chmod 0755 "$DIR"
say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

for t in wrk nginx curl sqlite3 python3; do
	command -v "$t" >/dev/null || die "$t is not installed"
done
[ "$(id -u)" = 0 ] || die "needs root (ctl/moat-stack)"

cleanup() {
	if [ -s "$DIR/nginx/nginx.pid" ]; then
		kill "$(cat "$DIR/nginx/nginx.pid")" 2>/dev/null || true
		for _ in $(seq 50); do
			[ -e "/proc/$(cat "$DIR/nginx/nginx.pid" 2>/dev/null || echo 0)" ] || break
			sleep 0.1
		done
	fi
	MOAT_BUILD_DIR=$BIN timeout 120 "$ROOT/ctl/moat-stack" down "$DIR" >/dev/null 2>&1 || true
	[ "${KEEP:-0}" = 1 ] || rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "stack in $DIR (binaries from $BIN)"
MOAT_BUILD_DIR=$BIN timeout 300 "$ROOT/ctl/moat-stack" up "$DIR" >"$DIR.up.log" 2>&1 ||
	{ cat "$DIR.up.log"; rm -f "$DIR.up.log"; exit 1; }
rm -f "$DIR.up.log"
# shellcheck disable=SC1091
. "$DIR/stack.env"
[ "${UPDATED:-}" = running ] || die "moat-updated is not running"
if [ -n "${UPDATED_OPTS:-}" ]; then
	sed -i "s/^\(updated = {\)\$/\1\n  $UPDATED_OPTS/" "$CONF"
	MOAT_BUILD_DIR=$BIN timeout 120 "$ROOT/ctl/moat-stack" restart "$DIR" updated >/dev/null
fi
UPID=$(cat "$DIR/run/moat-updated.pid")
SETTINGS=$("$BIN/updated/moat-updated" -c "$CONF" -n 2>/dev/null |
	grep -E '^ *(threads|access_log|per_client|timeout|max_connections) =' | tr -s ' \n' ' ')
say "moat-updated pid $UPID:$SETTINGS"

# --- the files, in the stack's mirror directory
python3 - "$UPDATED_MIRROR_DIR" <<'PY'
import os, sys
d = sys.argv[1]
# A CVD header moat-updated parses (build time 2025-12-02 09:00 UTC).
head = (b"ClamAV-VDB:02 Dec 2025 09-00 +0000:1:10:90:" + b"0" * 32 +
        b":AAAA:bench:1764666000").ljust(512, b" ")
def cvd(name, size):
    with open(os.path.join(d, name), "wb") as f:
        f.write(head)
        left = size - len(head)
        while left > 0:
            n = min(left, 1 << 20)
            f.write(os.urandom(n))
            left -= n
cvd("bench300k.cvd", 300 * 1024)
cvd("bench100m.cvd", 100 * 1024 * 1024)
with open(os.path.join(d, "bench-1.cdiff"), "wb") as f:
    f.write(b"x")
PY
chown moat: "$UPDATED_MIRROR_DIR"/bench*
chmod 0644 "$UPDATED_MIRROR_DIR"/bench*

# --- Basic credentials: a login of Beta (not 127.0.0.1's subscriber)
LOGIN=benchlogin PASS=bench-password-1
if [ "$BASIC" = 1 ]; then
	printf '%s\n' "$PASS" | timeout 60 "$MOATCTL" -d "$DB" login add "$LOGIN" Beta \
		--password-stdin >/dev/null || die "moatctl login add failed"
	HASH=$(sqlite3 "$DB" "SELECT secret_hash FROM subscriber_credentials
		WHERE kind = 'password' AND login = '$LOGIN'")
	[ -n "$HASH" ] || die "no hash stored for $LOGIN"
fi

# --- nginx, private
NGX_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
NGX_URL="http://127.0.0.1:$NGX_PORT"
mkdir -p "$DIR/nginx/tmp"
[ "$BASIC" = 1 ] && printf '%s:%s\n' "$LOGIN" "$HASH" >"$DIR/nginx/htpasswd"
cat >"$DIR/nginx/nginx.conf" <<CONF
# moat-updated bench: nginx serving the stack's mirror directory.
user moat;
worker_processes $NGINX_WORKERS;
pid $DIR/nginx/nginx.pid;
error_log $DIR/nginx/error.log;
events { worker_connections 1024; }
http {
	sendfile on;
	tcp_nopush on;
	tcp_nodelay on;
	keepalive_timeout 65;
	keepalive_requests 1000000;
	access_log $DIR/nginx/access.log;
	default_type application/octet-stream;
	types { }
	client_body_temp_path $DIR/nginx/tmp;
	proxy_temp_path $DIR/nginx/tmp;
	fastcgi_temp_path $DIR/nginx/tmp;
	uwsgi_temp_path $DIR/nginx/tmp;
	scgi_temp_path $DIR/nginx/tmp;
	server {
		listen 127.0.0.1:$NGX_PORT;
		root $UPDATED_MIRROR_DIR;
		location = /health { return 200 "ok\n"; }
		location /basic/ {
			alias $UPDATED_MIRROR_DIR/;
			auth_basic "bench";
			auth_basic_user_file $DIR/nginx/htpasswd;
		}
	}
}
CONF
chown -R moat: "$DIR/nginx"
timeout 10 nginx -t -c "$DIR/nginx/nginx.conf" -p "$DIR/nginx" >/dev/null 2>&1 ||
	{ nginx -t -c "$DIR/nginx/nginx.conf" -p "$DIR/nginx"; die "nginx config refused"; }
timeout 10 nginx -c "$DIR/nginx/nginx.conf" -p "$DIR/nginx" || die "nginx did not start"
for _ in $(seq 100); do
	curl -sf -o /dev/null "$NGX_URL/health" && break
	sleep 0.1
done
NPID=$(cat "$DIR/nginx/nginx.pid")
say "nginx $(nginx -v 2>&1 | sed 's/.*\///') pid $NPID on $NGX_URL ($NGINX_WORKERS workers)"

# --- the same bytes from both
for f in bench-1.cdiff bench300k.cvd bench100m.cvd; do
	a=$(curl -sf -m 60 "$UPDATED_URL/$f" | sha256sum)
	b=$(curl -sf -m 60 "$NGX_URL/$f" | sha256sum)
	c=$(sha256sum <"$UPDATED_MIRROR_DIR/$f")
	if [ "$a" != "$c" ] || [ "$b" != "$c" ]; then die "$f: the servers do not send the file"; fi
done
code() { curl -s -o /dev/null -w '%{http_code}' -m 30 "$@"; }
# Authorization is on: 127.0.0.2 is no subscriber's network.
[ "$(code --interface 127.0.0.2 "$UPDATED_URL/bench300k.cvd")" = 403 ] ||
	die "moat-updated served 127.0.0.2 without credentials"
if [ "$BASIC" = 1 ]; then
	[ "$(code --interface 127.0.0.2 -u "$LOGIN:$PASS" "$UPDATED_URL/bench300k.cvd")" = 200 ] ||
		die "moat-updated refused the login"
	[ "$(code "$NGX_URL/basic/bench300k.cvd")" = 401 ] || die "nginx served /basic/ without credentials"
	[ "$(code -u "$LOGIN:$PASS" "$NGX_URL/basic/bench300k.cvd")" = 200 ] ||
		die "nginx refused the login (libcrypt without yescrypt?)"
fi

# --- wrk
cat >"$DIR/report.lua" <<'LUA'
done = function(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("WRK %d %d %d %d %d %d %d %d %.0f %.0f\n",
		summary.requests, summary.bytes, summary.duration,
		e.connect, e.read, e.write, e.status, e.timeout,
		latency:percentile(50), latency:percentile(99)))
end
LUA

cpu_ticks() {  # cpu_ticks PID...: utime+stime of the processes, in ticks
	local t=0 p
	for p in "$@"; do
		# fields after the ")" of comm: 12 = utime, 13 = stime
		t=$(( t + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}') ))
	done
	echo "$t"
}
HZ=$(getconf CLK_TCK)

# run SERVER CASE URL [wrk args...]: one measurement, a line in $DIR/results:
#   SERVER CASE REQS BYTES USEC CPU_TICKS P50_US P99_US
run() {
	local server=$1 kase=$2 url=$3 out c0 c1 pids
	shift 3
	if [ "$server" = moat ]; then pids=$UPID; else pids=$(pgrep -P "$NPID" | tr '\n' ' '); fi
	# shellcheck disable=SC2086
	c0=$(cpu_ticks $pids)
	out=$(timeout $((DURATION + 60)) wrk -t"$WRK_THREADS" -c"$CONNS" -d"${DURATION}s" \
		--timeout 30s -s "$DIR/report.lua" "$@" "$url" | grep '^WRK ') ||
		die "$server $kase: wrk failed"
	# shellcheck disable=SC2086
	c1=$(cpu_ticks $pids)
	read -r _ reqs bytes usec ec er ew es et p50 p99 <<<"$out"
	[ "$es" = 0 ] || die "$server $kase: $es replies that are not 2xx"
	[ $((ec + er + ew + et)) = 0 ] || say "$server $kase: socket errors connect $ec read $er write $ew timeout $et"
	echo "$server $kase $reqs $bytes $usec $((c1 - c0)) $p50 $p99" >>"$DIR/results"
	say "$(printf '%-5s %-6s %9.1f req/s %9.1f MB/s  cpu %7.1f us/req  p50 %6s us  p99 %7s us' \
		"$server" "$kase" "$(echo "$reqs $usec" | awk '{print $1 * 1e6 / $2}')" \
		"$(echo "$bytes $usec" | awk '{print $1 / $2}')" \
		"$(echo "$c1 $c0 $HZ $reqs" | awk '{print ($1 - $2) * 1e6 / $3 / ($4 ? $4 : 1)}')" \
		"$p50" "$p99")"
}

CASES="health:/health 1B:/bench-1.cdiff 300K:/bench300k.cvd 100M:/bench100m.cvd"
: >"$DIR/results"
say "$ROUNDS round(s), ${DURATION} s per case, wrk -t$WRK_THREADS -c$CONNS; load: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$ROUNDS"); do
	say "round $r"
	for c in $CASES; do
		k=${c%%:*} p=${c#*:}
		if [ $((r % 2)) = 1 ]; then
			run moat "$k" "$UPDATED_URL$p"
			run nginx "$k" "$NGX_URL$p"
		else
			run nginx "$k" "$NGX_URL$p"
			run moat "$k" "$UPDATED_URL$p"
		fi
	done
done
if [ "$BASIC" = 1 ]; then
	AUTH="Authorization: Basic $(printf '%s:%s' "$LOGIN" "$PASS" | base64 -w0)"
	say "Basic credentials, 300K, one round"
	run moat basic "$UPDATED_URL/bench300k.cvd" -H "$AUTH"
	run nginx basic "$NGX_URL/basic/bench300k.cvd" -H "$AUTH"
fi
say "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
ALOG=$(grep -c '\]: http: ' "$DIR/log/moat-updated.log" || true)
say "access log lines: moat-updated $ALOG, nginx $(wc -l <"$DIR/nginx/access.log")"
grep -E 'warning|error' "$DIR/log/moat-updated.log" | sort | uniq -c | sort -rn | head -5 |
	sed 's/^/bench: moat-updated log: /' >&2 || true

# --- the summary: per case the medians, and per round the ratio moat/nginx
python3 - "$DIR/results" "$HZ" "$ROUNDS" <<'PY'
import statistics, sys
path, hz, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows = [l.split() for l in open(path)]
res = {}
for s, k, reqs, b, us, cpu, p50, p99 in rows:
    reqs, b, us, cpu = int(reqs), int(b), int(us), int(cpu)
    res.setdefault((s, k), []).append(dict(rps=reqs * 1e6 / us, mbs=b / us,
        cpu=cpu * 1e6 / hz / max(reqs, 1), p99=int(p99) / 1000))
def mmm(v):
    return "%s / %s / %s" % (fmt(min(v)), fmt(statistics.median(v)), fmt(max(v)))
def fmt(x):
    return "%.2f" % x if x < 10 else "%.0f" % x
print()
print("moat-updated vs nginx (min / median / max over the rounds)")
print("%-7s %-6s %-26s %-24s %-18s %s" % ("case", "server", "req/s", "MB/s", "cpu us/req", "p99 ms"))
for k in ("health", "1B", "300K", "100M", "basic"):
    for s in ("moat", "nginx"):
        v = res.get((s, k))
        if not v:
            continue
        print("%-7s %-6s %-26s %-24s %-18s %s" % (k, s, mmm([x["rps"] for x in v]),
            mmm([x["mbs"] for x in v]), fmt(statistics.median([x["cpu"] for x in v])),
            fmt(statistics.median([x["p99"] for x in v]))))
print()
print("ratio moat/nginx per round (req/s; MB/s for 100M), then min / median / max")
for k in ("health", "1B", "300K", "100M", "basic"):
    m, n = res.get(("moat", k)), res.get(("nginx", k))
    if not m or not n:
        continue
    key = "mbs" if k == "100M" else "rps"
    r = [a[key] / b[key] for a, b in zip(m, n)]
    cpu = statistics.median([x["cpu"] for x in m]) / statistics.median([x["cpu"] for x in n])
    print("%-7s %-40s  %.2f / %.2f / %.2f   (cpu per request %.2fx)" % (k,
        " ".join("%.2f" % x for x in r), min(r), statistics.median(r), max(r), cpu))
PY
