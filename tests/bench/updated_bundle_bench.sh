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
# CLIENTS distinct clients (127.0.1.1, 127.0.1.2, ...: curl --interface)
# each GET /bundle/debian over plain HTTP, PARALLEL at a time.  Round 1 is
# every client's first bundle (a time drawn and recorded in client_installs),
# round 2 the same clients again (the recorded time read).  Every request is
# bounded (curl -m 10) and each round too (timeout 120 s).  Prints bundles/s
# per round and the bundle's size.  Needs root (the stack).
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

# One request: "STATUS BYTES" on stdout.
export UPDATED_URL
fetch() {
	curl -s -o /dev/null -m 10 --interface "$1" -w '%{http_code} %{size_download}\n' \
		"$UPDATED_URL/bundle/debian" || echo "000 0"
}
export -f fetch

round() {
	local t0 t1 out ok
	t0=$(date +%s.%N)
	out=$(seq 1 "$N" | sed 's/^/127.0.1./' | timeout 120 xargs -P "$P" -I{} bash -c 'fetch {}')
	t1=$(date +%s.%N)
	ok=$(printf '%s\n' "$out" | grep -c '^200 ' || true)
	[ "$ok" = "$N" ] || { echo "round $1: $ok of $N bundles served" >&2; printf '%s\n' "$out" | sort | uniq -c >&2; exit 1; }
	SIZE=$(printf '%s\n' "$out" | awk 'NR == 1 { print $2 }')
	awk -v n="$N" -v a="$t0" -v b="$t1" -v r="$1" \
		'BEGIN { printf "round %s: %d bundles in %.2f s: %.1f bundles/s\n", r, n, b - a, n / (b - a) }'
}

say "$N clients, $P at a time"
round "1 (first: drawn and recorded)"
round "2 (recorded)"
rows=$(sqlite3 "$DB" "SELECT count(DISTINCT client) FROM client_installs WHERE client LIKE 'ip:127.0.1.%'")
echo "bundle size: $SIZE bytes; client_installs rows for the bench clients: $rows"
[ "$rows" = "$N" ] || { echo "want $N client_installs rows" >&2; exit 1; }
