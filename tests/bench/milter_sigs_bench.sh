#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# milter_sigs_bench.sh - memory of moat-milter with a large signature set,
# next to clamd's for the same set, and the peak during a reload in each
# reload mode.
#
#   tests/bench/milter_sigs_bench.sh [HASHES [BODY_SIGS]]   (default 1000000 20000)
#
# Generates HASHES random MD5 hash signatures (.hdb) and BODY_SIGS random
# 24-byte body signatures (.ndb, any target) into the signature directory of
# a fresh stack (ctl/moat-stack up), then:
#   1. waits for moat-milter's own reload (concurrent mode) and reads its RSS;
#   2. HUP (concurrent): samples RSS every 20 ms until "signatures reloaded";
#   3. reload_mode = lowmem, restart, HUP: samples the same way;
#   4. starts clamd on the same directory (private socket), reads its RSS,
#      sends RELOAD and samples it until clamd logs the reload done.
# Every wait is bounded (RELOAD_TIMEOUT, default 600 s).  Needs root.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
BIN=$(cd "${MOAT_BUILD_DIR:-${MOAT_BIN:-$ROOT/build}}" && pwd -P)
HASHES=${1:-1000000}
BODY=${2:-20000}
TMO=${RELOAD_TIMEOUT:-600}
DIR=$(mktemp -d /tmp/moat-sigbench-XXXXXX)
chmod 0755 "$DIR"
say() { printf 'sigbench: %s\n' "$*" >&2; }
cleanup() {
	[ -s "$DIR/run/clamd.pid" ] && kill "$(cat "$DIR/run/clamd.pid")" 2>/dev/null || true
	MOAT_BUILD_DIR=$BIN "$ROOT/ctl/moat-stack" down "$DIR" >/dev/null 2>&1 || true
	[ "${KEEP:-0}" = 1 ] || rm -rf "$DIR"
}
trap cleanup EXIT
MOAT_BUILD_DIR=$BIN "$ROOT/ctl/moat-stack" up "$DIR" >"$DIR.up.log" 2>&1 || { cat "$DIR.up.log"; exit 1; }
rm -f "$DIR.up.log"
. "$DIR/stack.env"

rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
# peak PID LOGFILE PATTERN START: max RSS (KB) until PATTERN appears in LOGFILE after byte START
peak() {
	python3 - "$@" "$TMO" <<'PY'
import re, sys, time
pid, log, pat, start, tmo = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
rx, top, end = re.compile(pat), 0, time.monotonic() + tmo
t0 = time.monotonic()
while time.monotonic() < end:
    try:
        for l in open("/proc/%s/status" % pid):
            if l.startswith("VmRSS"):
                top = max(top, int(l.split()[1]))
    except OSError:
        break
    with open(log, "rb") as f:
        f.seek(start)
        if rx.search(f.read().decode("utf-8", "replace")):
            print(top, "%.1f" % (time.monotonic() - t0)); sys.exit(0)
    time.sleep(0.02)
print(top, "timeout"); sys.exit(1)
PY
}

say "generating $HASHES hash and $BODY body signatures"
python3 "$ROOT/tests/bench/gen_sigs.py" "$SIGS_DIR" "$HASHES" "$BODY"
MLOG="$LOG_DIR/moat-milter.log"
MPID=$(cat "$RUN_DIR/moat-milter.pid")
BEFORE=$(rss "$MPID")
START=$(wc -c <"$MLOG")
read -r P1 T1 < <(peak "$MPID" "$MLOG" "signatures reloaded" "$START")
SIGS=$(grep -o 'reloaded ([^)]*): [0-9]* signatures' "$MLOG" | tail -1)
sleep 2
STEADY=$(rss "$MPID")
START=$(wc -c <"$MLOG")
kill -HUP "$MPID"
read -r P2 T2 < <(peak "$MPID" "$MLOG" "signatures reloaded \\(SIGHUP" "$START")
sleep 2
# lowmem mode
sed -i 's/^\(milter = {\)$/\1\n  reload_mode = "lowmem";/' "$CONF"
MOAT_BUILD_DIR=$BIN "$ROOT/ctl/moat-stack" restart "$DIR" milter >/dev/null
MPID=$(cat "$RUN_DIR/moat-milter.pid")
sleep 2
STEADY_LM=$(rss "$MPID")
START=$(wc -c <"$MLOG")
kill -HUP "$MPID"
read -r P3 T3 < <(peak "$MPID" "$MLOG" "signatures reloaded \\(SIGHUP" "$START")

# clamd on the same directory
cat >"$DIR/clamd.conf" <<CONF
LocalSocket $DIR/run/clamd.sock
DatabaseDirectory $SIGS_DIR
Foreground yes
LogFile $DIR/log/clamd.log
PidFile $DIR/run/clamd.pid
CONF
: >"$DIR/log/clamd.log"
setsid clamd -c "$DIR/clamd.conf" </dev/null >>"$DIR/log/clamd.out" 2>&1 &
CPID=$!
echo $CPID >"$DIR/run/clamd.pid"
for _ in $(seq 1 $((TMO * 5))); do [ -S "$DIR/run/clamd.sock" ] && break; sleep 0.2; done
sleep 1
CL_STEADY=$(rss "$CPID")
START=$(wc -c <"$DIR/log/clamd.log")
python3 -c "
import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b'zRELOAD\0'); print(s.recv(100))" "$DIR/run/clamd.sock" >/dev/null
read -r P4 T4 < <(peak "$CPID" "$DIR/log/clamd.log" "Database correctly reloaded|Activating the newly loaded database" "$START")
cat <<OUT
signature set: $HASHES MD5 hashes + $BODY body signatures ($SIGS)
moat-milter RSS: before (2 test sigs) ${BEFORE} KB; loaded ${STEADY} KB (first load ${T1} s)
moat-milter reload, concurrent mode: peak ${P2} KB (${T2} s)
moat-milter reload, lowmem mode:     loaded ${STEADY_LM} KB, peak ${P3} KB (${T3} s)
clamd RSS: loaded ${CL_STEADY} KB; RELOAD peak ${P4} KB (${T4} s)
OUT
