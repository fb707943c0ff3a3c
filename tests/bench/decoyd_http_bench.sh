#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# decoyd_http_bench.sh - moat-decoyd's http personality against Debian's
# nginx returning a page of the same size, new sessions with
# "Connection: close", wrk on loopback, one run each (issue 11: decoyd
# >= 0.50 of nginx).
#
#   tests/bench/decoyd_http_bench.sh
#   DURATION=10 CONNS=50 WRK_THREADS=2 tests/bench/decoyd_http_bench.sh
#
# One stack (ctl/moat-stack up, in a fresh /tmp dir) gives moat-decoyd with
# full recording, as the stack configures it (ctl/stack/moat.conf.in): an
# asciicast file per session, decoy.connect/command/disconnect events and a
# decoy_sessions row per session.  For the run its decoyd group gets
# per_source and max_sessions raised (wrk's CONNS connections all come from
# 127.0.0.1; per_source is 32 by default) and decoyd is restarted.
# A private nginx (its own config, a free loopback port, NGINX_WORKERS
# worker processes (2, the CPUs), sendfile, an access log line per request
# to a file) serves the very bytes of the decoy's login page as
# /index.html, so both send a body of the same size.
#
# wrk: -t WRK_THREADS (2) -c CONNS (50) -d DURATION (10 s), -H "Connection:
# close" (a new TCP connection, and on decoyd a new recorded session, per
# request), decoyd first, then nginx.  Printed: requests/s of both, the
# ratio, CPU time per request of each server, and what decoyd recorded (the
# rows and files must match the requests it answered).
#
# MOAT_BUILD_DIR / MOAT_BIN: build directory (default ./build).
# DECOYD_OPTS: more settings for the decoyd group.  RECORD_DIR: record into
# this directory instead of the stack's DIR/decoy (created, owned by moat;
# a subdirectory of it, removed at the end; e.g. /dev/shm to measure with the recordings on tmpfs: creating
# one file per session on ext4 is most of decoyd's cost).  KEEP=1: keep the
# directory.  Needs root (moat-stack).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
BIN=$(cd "${MOAT_BUILD_DIR:-${MOAT_BIN:-$ROOT/build}}" && pwd -P)
DURATION=${DURATION:-10}
CONNS=${CONNS:-50}
WRK_THREADS=${WRK_THREADS:-2}
NGINX_WORKERS=${NGINX_WORKERS:-2}
DIR=$(mktemp -d /tmp/moat-dhttp-XXXXXX)
chmod 0755 "$DIR"
say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

for t in wrk nginx curl sqlite3; do
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
	[ "${KEEP:-0}" = 1 ] || rm -rf "$DIR" ${RECORD_DIR:+"$RECORD_DIR"}
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "stack in $DIR (binaries from $BIN)"
MOAT_BUILD_DIR=$BIN timeout 300 "$ROOT/ctl/moat-stack" up "$DIR" >"$DIR.up.log" 2>&1 ||
	{ cat "$DIR.up.log"; rm -f "$DIR.up.log"; exit 1; }
rm -f "$DIR.up.log"
# shellcheck disable=SC1091
. "$DIR/stack.env"
[ "${DECOYD:-}" = running ] || die "moat-decoyd is not running"
sed -i "s/^\(decoyd = {\)\$/\1\n  per_source = 100000;\n  max_sessions = 20000;\n  ${DECOYD_OPTS:-}/" "$CONF"
if [ -n "${RECORD_DIR:-}" ]; then
	RECORD_DIR=$RECORD_DIR/$(basename "$DIR")      # removed at the end
	mkdir -p "$RECORD_DIR"
	chown moat: "$RECORD_DIR"
	chmod 0750 "$RECORD_DIR"
	sed -i "s|^  record_dir = .*|  record_dir = \"$RECORD_DIR\";|" "$CONF"
	DECOY_DIR=$RECORD_DIR
fi
MOAT_BUILD_DIR=$BIN timeout 120 "$ROOT/ctl/moat-stack" restart "$DIR" decoyd >/dev/null
DPID=$(cat "$DIR/run/moat-decoyd.pid")
DURL="http://127.0.0.1:$DECOY_HTTP_PORT/"
for _ in $(seq 100); do
	curl -sf -o /dev/null "$DURL" && break
	sleep 0.1
done
SETTINGS=$("$BIN/decoyd/moat-decoyd" -c "$CONF" -n 2>/dev/null |
	grep -E '^ *(per_source|max_sessions|record_dir|max_line|http_[a-z_]+) =' | tr -s ' \n' ' ')
say "moat-decoyd pid $DPID:$SETTINGS"

# --- nginx, private, serving the decoy's own page
NGX_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
NGX_URL="http://127.0.0.1:$NGX_PORT/"
mkdir -p "$DIR/nginx/tmp" "$DIR/nginx/www"
curl -sf -o "$DIR/nginx/www/index.html" "$DURL" || die "no page from moat-decoyd"
PAGE=$(stat -c %s "$DIR/nginx/www/index.html")
cat >"$DIR/nginx/nginx.conf" <<CONF
# moat-decoyd http bench: nginx serving the decoy's login page.
user moat;
worker_processes $NGINX_WORKERS;
pid $DIR/nginx/nginx.pid;
error_log $DIR/nginx/error.log;
events { worker_connections 4096; }
http {
	sendfile on;
	tcp_nopush on;
	tcp_nodelay on;
	keepalive_timeout 65;
	access_log $DIR/nginx/access.log;
	types { text/html html; }
	default_type text/html;
	client_body_temp_path $DIR/nginx/tmp;
	proxy_temp_path $DIR/nginx/tmp;
	fastcgi_temp_path $DIR/nginx/tmp;
	uwsgi_temp_path $DIR/nginx/tmp;
	scgi_temp_path $DIR/nginx/tmp;
	server {
		listen 127.0.0.1:$NGX_PORT backlog=4096;
		root $DIR/nginx/www;
		index index.html;
	}
}
CONF
chown -R moat: "$DIR/nginx"
timeout 10 nginx -t -c "$DIR/nginx/nginx.conf" -p "$DIR/nginx" >/dev/null 2>&1 ||
	{ nginx -t -c "$DIR/nginx/nginx.conf" -p "$DIR/nginx"; die "nginx config refused"; }
timeout 10 nginx -c "$DIR/nginx/nginx.conf" -p "$DIR/nginx" || die "nginx did not start"
for _ in $(seq 100); do
	curl -sf -o /dev/null "$NGX_URL" && break
	sleep 0.1
done
NPID=$(cat "$DIR/nginx/nginx.pid")
[ "$(curl -sf "$NGX_URL" | sha256sum)" = "$(curl -sf "$DURL" | sha256sum)" ] ||
	die "nginx and moat-decoyd do not send the same page"
say "nginx $(nginx -v 2>&1 | sed 's/.*\///') pid $NPID on $NGX_URL ($NGINX_WORKERS workers); page $PAGE bytes"

cat >"$DIR/report.lua" <<'LUA'
done = function(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("WRK %d %d %d %d %d %d %d %d\n", summary.requests,
		summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
		latency:percentile(99)))
end
LUA
cpu_ticks() {  # cpu_ticks PID...: utime+stime of the processes, in ticks
	local t=0 p
	for p in "$@"; do
		t=$(( t + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}') ))
	done
	echo "$t"
}
HZ=$(getconf CLK_TCK)

# run NAME URL PIDS...: prints "REQS USEC TICKS"
run() {
	local name=$1 url=$2 out c0 c1
	shift 2
	c0=$(cpu_ticks "$@")
	out=$(timeout $((DURATION + 60)) wrk -t"$WRK_THREADS" -c"$CONNS" -d"${DURATION}s" \
		--timeout 10s -H "Connection: close" -s "$DIR/report.lua" "$url" | grep '^WRK ') ||
		die "$name: wrk failed"
	c1=$(cpu_ticks "$@")
	read -r _ reqs usec ec er ew es et p99 <<<"$out"
	[ "$es" = 0 ] || die "$name: $es replies that are not 2xx"
	[ $((ec + er + ew + et)) = 0 ] ||
		say "$name: socket errors connect $ec read $er write $ew timeout $et"
	say "$(printf '%-11s %9.1f req/s  cpu %6.1f us/req  p99 %6.1f ms' "$name" \
		"$(echo "$reqs $usec" | awk '{print $1 * 1e6 / $2}')" \
		"$(echo "$c1 $c0 $HZ $reqs" | awk '{print ($1 - $2) * 1e6 / $3 / ($4 ? $4 : 1)}')" \
		"$(echo "$p99" | awk '{print $1 / 1000}')")"
	echo "$reqs $usec $((c1 - c0))"
}

say "wrk -t$WRK_THREADS -c$CONNS -d${DURATION}s -H 'Connection: close'; load: $(cut -d' ' -f1-3 /proc/loadavg)"
ROWS0=$(sqlite3 "$DB" "SELECT count(*) FROM decoy_sessions")
FILES0=$(find "$DECOY_DIR" -name '*.cast' | wc -l)
read -r DREQS DUSEC DTICKS <<<"$(run moat-decoyd "$DURL" "$DPID")"
sleep 3          # the last sessions' rows and events reach the store
mapfile -t NWORKERS < <(pgrep -P "$NPID")
read -r NREQS NUSEC NTICKS <<<"$(run nginx "$NGX_URL" "${NWORKERS[@]}")"
ROWS=$(( $(sqlite3 "$DB" "SELECT count(*) FROM decoy_sessions") - ROWS0 ))
FILES=$(( $(find "$DECOY_DIR" -name '*.cast' | wc -l) - FILES0 ))
NLOG=$(wc -l <"$DIR/nginx/access.log")
say "recorded by moat-decoyd: $FILES asciicast files, $ROWS decoy_sessions rows; nginx access log $NLOG lines"
grep -E 'dropped|lost|warning' "$DIR/log/moat-decoyd.log" | sort | uniq -c | sort -rn | head -5 |
	sed 's/^/bench: moat-decoyd log: /' >&2 || true
[ "$FILES" -ge "$DREQS" ] || die "fewer recordings ($FILES) than requests ($DREQS)"
awk -v dr="$DREQS" -v du="$DUSEC" -v dt="$DTICKS" -v nr="$NREQS" -v nu="$NUSEC" \
    -v nt="$NTICKS" -v hz="$HZ" -v page="$PAGE" 'BEGIN {
	d = dr * 1e6 / du; n = nr * 1e6 / nu
	printf "\nmoat-decoyd http vs nginx, %d-byte page, Connection: close\n", page
	printf "  moat-decoyd  %9.1f req/s  (cpu %.1f us/req)\n", d, dt * 1e6 / hz / dr
	printf "  nginx        %9.1f req/s  (cpu %.1f us/req)\n", n, nt * 1e6 / hz / nr
	printf "  ratio        %.2f (target >= 0.50)\n", d / n
}'
