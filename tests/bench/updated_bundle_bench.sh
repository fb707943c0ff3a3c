#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# updated_bundle_bench.sh - install bundles built per second by moat-updated
# (issue 10, "bundle builds per second for 100 distinct clients").
#
#   tests/bench/updated_bundle_bench.sh [CLIENTS [PARALLEL]]   (default 100 4)
#
# One stack (ctl/moat-stack up, in a fresh /tmp dir) with its demo package
# and signed test database; 127.0.1.0/24 is added to Alpha's networks, and
# CLIENTS distinct clients (127.0.1.1, 127.0.1.2, ...: a Python
# http.client bound to each address, PARALLEL threads) each GET
# /bundle/debian over plain HTTP, a new connection per request.  Round 1 is
# every client's first bundle (a time drawn and recorded in
# client_installs), round 2 ten passes over the same clients (the recorded
# time read).  Every request is bounded (10 s) and each round too (timeout
# 120 s).  Prints bundles/s per round and the bundle's size.  Needs root
# (the stack).
# MOAT_BIN / MOAT_BUILD_DIR: build directory (default ./build).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
BIN=$(cd "${MOAT_BUILD_DIR:-${MOAT_BIN:-$ROOT/build}}" && pwd -P)
N=${1:-100}
P=${2:-4}
[ "$N" -ge 1 ] && [ "$N" -le 250 ] || { echo "CLIENTS: 1..250" >&2; exit 2; }
DIR=$(mktemp -d /tmp/moat-bench-XXXXXX)
chmod 0755 "$DIR"
say() { printf 'bench: %s\n' "$*" >&2; }

cleanup() {
	MOAT_BUILD_DIR=$BIN "$ROOT/ctl/moat-stack" down "$DIR" >/dev/null 2>&1 || true
	[ "${KEEP:-0}" = 1 ] || rm -rf "$DIR"
}
trap cleanup EXIT

say "stack in $DIR (binaries from $BIN)"
MOAT_BUILD_DIR=$BIN "$ROOT/ctl/moat-stack" up "$DIR" >"$DIR.up.log" 2>&1 || { cat "$DIR.up.log"; exit 1; }
rm -f "$DIR.up.log"
# shellcheck disable=SC1091
. "$DIR/stack.env"
[ "${UPDATED:-}" = running ] || { echo "moat-updated is not running" >&2; exit 1; }
"$MOATCTL" -d "$DB" network add 127.0.1.0/24 Alpha >/dev/null
sleep 2.5    # the policy watcher polls every second

# The client: Python's http.client, PARALLEL threads, one connection per
# request bound to the client's own address (no process per request: the
# figure is the server's, not curl's start-up).  Prints
# "OK BYTES SECONDS" for PASSES passes over the CLIENTS addresses.
client() {
	timeout 120 /usr/bin/python3 - "$UPDATED_URL" "$N" "$P" "$1" <<'PY'
import http.client, sys, threading, time, urllib.parse
url, n, par, passes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
u = urllib.parse.urlsplit(url)
jobs = ["127.0.1.%d" % (i + 1) for i in range(n)] * passes
lock = threading.Lock()
res = {"ok": 0, "bytes": 0, "bad": {}}
def work(mine):
    for src in mine:
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=10, source_address=(src, 0))
        try:
            c.request("GET", "/bundle/debian")
            r = c.getresponse()
            body = r.read()
            st = r.status
        except OSError as e:
            st, body = str(e), b""
        finally:
            c.close()
        with lock:
            if st == 200:
                res["ok"] += 1
                res["bytes"] = len(body)
            else:
                res["bad"][st] = res["bad"].get(st, 0) + 1
t0 = time.monotonic()
ts = [threading.Thread(target=work, args=(jobs[i::par],)) for i in range(par)]
for t in ts: t.start()
for t in ts: t.join()
dt = time.monotonic() - t0
if res["bad"]:
    print("failures:", res["bad"], file=sys.stderr)
print(res["ok"], res["bytes"], "%.3f" % dt)
PY
}

# round NAME PASSES
round() {
	local out ok bytes secs want=$(( N * $2 ))
	out=$(client "$2") || { echo "round $1: the client failed" >&2; exit 1; }
	read -r ok bytes secs <<<"$out"
	[ "$ok" = "$want" ] || { echo "round $1: $ok of $want bundles served" >&2; exit 1; }
	SIZE=$bytes
	awk -v n="$want" -v s="$secs" -v r="$1" \
		'BEGIN { printf "round %s: %d bundles in %.2f s: %.0f bundles/s\n", r, n, s, n / s }'
}

say "$N clients, $P at a time"
round "1 (each client's first bundle: time drawn and recorded)" 1
round "2 (the same clients again, 10 passes: time read)" 10
rows=$(sqlite3 "$DB" "SELECT count(DISTINCT client) FROM client_installs WHERE client LIKE 'ip:127.0.1.%'")
echo "bundle size: $SIZE bytes; client_installs rows for the bench clients: $rows"
[ "$rows" = "$N" ] || { echo "want $N client_installs rows" >&2; exit 1; }
