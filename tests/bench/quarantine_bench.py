#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""quarantine_bench - submissions per second into moat-quarantined with full
durability (every message fsync'd, renamed, its directory fsync'd and its row
committed with synchronous=FULL before the 201; group commit shares the
directory fsync and the SQLite commit between concurrent submissions).

Starts a private daemon (temp store, spool and socket, like the black-box
test), then N client threads each keep one HTTP/1.1 connection to the UNIX
socket and submit distinct messages of SIZE bytes until COUNT are stored or
TIMEOUT seconds pass.  Prints one result line per run; --check makes the
exit status 1 when the rate is below --target.

  python3 tests/bench/quarantine_bench.py [--clients 8] [--count 3000]
      [--size 51200] [--timeout 120] [--window-ms 0] [--target 500] [--check]
"""
import argparse
import hashlib
import http.client
import json
import os
import shutil
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
import test_quarantine as tq  # noqa: E402  (the daemon harness of the black-box test)


def body(i, size):
    head = ("From: bench@example.net\r\nTo: user@alpha.example\r\n"
            "Subject: bench %d\r\n\r\n" % i).encode()
    line = b"%08d " % i + b"z" * 69 + b"\r\n"
    n = (size - len(head)) // len(line) + 1
    return (head + line * n)[:size]


def run(args):
    tmp = tempfile.mkdtemp(prefix="moat-qbench-")
    q = tq.Quarantined(tmp, max_upload="10M",
                       extra=["commit_window_ms = %d;" % args.window_ms,
                              "commit_batch = %d;" % args.batch]).start()
    lock = threading.Lock()
    state = {"next": 0, "ok": 0, "fail": 0, "lat": []}
    deadline = time.monotonic() + args.timeout
    payloads = [body(i, args.size) for i in range(min(args.count, 64))]

    def client():
        c = tq.UnixHTTPConnection(q.sock, timeout=30)
        while time.monotonic() < deadline:
            with lock:
                i = state["next"]
                if i >= args.count:
                    break
                state["next"] += 1
            # distinct content per message: the first line carries i
            data = b"X-Bench-Seq: %08d\r\n" % i + payloads[i % len(payloads)]
            t0 = time.monotonic()
            try:
                c.request("POST", "/v1/items?subscriber=1&rcpt=user@alpha.example"
                          "&virus=Bench.Test", body=data,
                          headers={"Content-Type": "message/rfc822"})
                r = c.getresponse()
                r.read()
                okay = r.status == 201
            except OSError:
                okay = False
                c.close()
                c = tq.UnixHTTPConnection(q.sock, timeout=30)
            with lock:
                state["ok" if okay else "fail"] += 1
                state["lat"].append(time.monotonic() - t0)
        c.close()

    threads = [threading.Thread(target=client) for _ in range(args.clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    rows = q.sql("SELECT count(*) FROM quarantine")[0][0]
    # spot check: a stored message hashes to what was sent
    (path, sha), = q.sql("SELECT path, sha256 FROM quarantine ORDER BY id LIMIT 1")
    with open(os.path.join(q.spool, path), "rb") as f:
        intact = hashlib.sha256(f.read()).hexdigest() == sha
    q.close()
    shutil.rmtree(tmp, ignore_errors=True)
    lat = sorted(state["lat"]) or [0]
    res = {
        "clients": args.clients, "size": args.size, "stored": state["ok"],
        "failed": state["fail"], "rows": rows, "seconds": round(elapsed, 2),
        "per_second": round(state["ok"] / elapsed, 1),
        "mb_per_second": round(state["ok"] * args.size / elapsed / 1e6, 1),
        "p50_ms": round(lat[len(lat) // 2] * 1000, 1),
        "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000, 1),
        "window_ms": args.window_ms, "intact": intact,
    }
    print(json.dumps(res))
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--count", type=int, default=3000)
    ap.add_argument("--size", type=int, default=50 * 1024)
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--window-ms", type=int, default=0)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--target", type=float, default=500)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    if not os.access(tq.QUARANTINED, os.X_OK):
        sys.exit("moat-quarantined is not built in %s (set MOAT_BIN)" % tq.BIN)
    res = run(args)
    ok = res["failed"] == 0 and res["rows"] == res["stored"] and res["intact"]
    if args.check and (not ok or res["per_second"] < args.target):
        sys.exit(1)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
