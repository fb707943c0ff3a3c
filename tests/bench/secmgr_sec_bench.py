#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""secmgr_sec_bench - moat-secmgr against Debian's SEC (Simple Event
Correlator) on the same events and the equivalent rules, in one run.

    tests/bench/secmgr_sec_bench.py [--events N] [--seed S] [--keep]

The stream: N events (default 1,000,000) of 12 kinds about 10,000 source
addresses (10.X.Y.Z), drawn from a fixed seed: sources Zipf-like (a few
busy, most quiet), kinds uniform, so some keys cross the rules' thresholds
and most do not.  50 enabled rules, all keyed by source address except the
five threshold rules keyed by /24 network:
  20 threshold   N events of kind K about the key          (SEC: SingleWithThreshold)
  15 multi       events of each of M listed kinds (M = 2-4) (SEC: EventGroupM, thresh 1 each)
  15 sequence    kind A, then B (then C for five of them)   (SEC: the usual way: a context
                                                             per key set by A, checked by B)
Every window is an hour and the whole stream is stamped within ten
minutes, so window arithmetic cannot tell the two apart (SEC's windows run
on its own clock, secmgr's on the events' time): an incident is a (rule,
key) pair, and the set each tool finds is compared with the other's and
with the one this script computes from the stream itself.

SEC reads the stream as log lines "TIME KIND SOURCE DAEMON" from a file
(--fromstart --notail) with every rule (and every pattern of an EventGroup)
continue=TakeNext, so each event meets all 50 rules, as in secmgr, and writes "rule key" lines; its time is the
wall clock of the whole run.  moat-secmgr follows the events table of a
store holding the same events (inserted before it starts) and the rules as
correlation_rules rows; its time runs from its start until its cursor
reaches the last event.  Events per second = N / time.  Memory: the peak
resident size of each (/proc VmHWM, sampled).

Needs sec and a built moat-secmgr (MOAT_BIN, default ./build); root for
the moat user.
"""
import argparse
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("MOAT_BIN", os.path.join(ROOT, "build"))
MOATCTL = os.path.join(BIN, "ctl", "moatctl")
SECMGR = os.path.join(BIN, "secmgr", "moat-secmgr")

KINDS = [("mail.infected", "milter"), ("mail.unscannable", "milter"),
         ("mail.scan_error", "milter"), ("mail.threat_source", "milter"),
         ("mail.refused", "milter"), ("mail.action", "milter"),
         ("quarantine.release_denied", "quarantined"), ("update.denied", "updated"),
         ("update.download", "updated"), ("decoy.connect", "decoyd"),
         ("decoy.login", "decoyd"), ("decoy.command", "decoyd")]
NSRC = 10000
WINDOW = 3600


def rules(rng):
    """The 50 rules: (name, kind, params) with params as secmgr takes them."""
    out = []
    names = [k for k, _ in KINDS]
    for i in range(20):
        key = "src_net" if i < 5 else "src_ip"
        out.append(("thr%02d" % i, "threshold", {
            "kinds": [names[i % 12]], "key": key, "count": rng.choice([20, 40, 60, 100]),
            "window": "1h"}))
    for i in range(15):
        m = 2 + i % 3
        out.append(("multi%02d" % i, "multi", {
            "kinds": rng.sample(names, m), "key": "src_ip", "min_kinds": m, "window": "1h"}))
    for i in range(15):
        steps = rng.sample(names, 3 if i < 5 else 2)
        out.append(("seq%02d" % i, "sequence", {"steps": steps, "key": "src_ip",
                                               "window": "1h"}))
    return out


def stream(rng, n):
    """n events (kind, daemon, source) in order."""
    weights = [1.0 / (r + 1) ** 1.1 for r in range(NSRC)]
    srcs = ["10.%d.%d.%d" % (1 + r // 4000, (r // 250) % 16, 1 + r % 250) for r in range(NSRC)]
    rng.shuffle(srcs)
    chosen = rng.choices(srcs, weights=weights, k=n)
    kinds = rng.choices(KINDS, k=n)
    return [(k, d, s) for (k, d), s in zip(kinds, chosen)]


def net24(src):
    return src.rsplit(".", 1)[0] + ".0/24"


def oracle(rs, events):
    """The (rule, key) pairs the rules must find in this stream."""
    found = set()
    counts = {}
    seen_kinds = {}
    stage = {}
    for kind, _, src in events:
        for name, rk, p in rs:
            if rk == "threshold":
                if kind not in p["kinds"]:
                    continue
                key = net24(src) if p["key"] == "src_net" else src
                c = counts[(name, key)] = counts.get((name, key), 0) + 1
                if c >= p["count"]:
                    found.add((name, key))
            elif rk == "multi":
                if kind not in p["kinds"]:
                    continue
                s = seen_kinds.setdefault((name, src), set())
                s.add(kind)
                if len(s) >= p["min_kinds"]:
                    found.add((name, src))
            else:
                steps = p["steps"]
                at = stage.get((name, src), 0)
                # A step counts only after the one before it (A restarts nothing).
                if at < len(steps) and kind == steps[at]:
                    stage[(name, src)] = at + 1
                    if at + 1 == len(steps):
                        found.add((name, src))
    return found


def sec_rules(rs):
    """SEC's rules, one block per rule, every one continue=TakeNext."""
    blocks = []
    for name, rk, p in rs:
        if rk == "threshold":
            k = p["kinds"][0].replace(".", r"\.")
            pat = (r"^\d+ %s ((\d+\.\d+\.\d+)\.\d+) " % k)
            key = "$2.0/24" if p["key"] == "src_net" else "$1"
            blocks.append("type=SingleWithThreshold\nptype=RegExp\npattern=%s\n"
                          "continue=TakeNext\ndesc=%s %s\naction=write %%out %s %s\n"
                          "window=%d\nthresh=%d\n" % (pat, name, key, name, key, WINDOW,
                                                       p["count"]))
        elif rk == "multi":
            m = len(p["kinds"])
            lines = ["type=EventGroup%d" % m]
            for j, kd in enumerate(p["kinds"]):
                sfx = "" if j == 0 else str(j + 1)
                lines += ["ptype%s=RegExp" % sfx,
                          r"pattern%s=^\d+ %s (\S+) " % (sfx, kd.replace(".", r"\.")),
                          "thresh%s=1" % sfx, "continue%s=TakeNext" % sfx]
            lines += ["desc=%s $1" % name,
                      "action=write %%out %s $1" % name, "window=%d" % WINDOW]
            blocks.append("\n".join(lines) + "\n")
        else:
            steps = p["steps"]
            for j, kd in enumerate(steps):
                pat = r"^\d+ %s (\S+) " % kd.replace(".", r"\.")
                last = j == len(steps) - 1
                ctx_have = "%s_%d_$1" % (name, j) if j > 0 else None
                if last:
                    ctx = "%s && !%s_done_$1" % (ctx_have, name)
                    act = "write %%out %s $1; create %s_done_$1 %d" % (name, name, WINDOW)
                else:
                    ctx = ctx_have
                    act = "create %s_%d_$1 %d" % (name, j + 1, WINDOW)
                blocks.append("type=Single\nptype=RegExp\npattern=%s\n%scontinue=TakeNext\n"
                              "desc=%s step %d $1\naction=%s\n" % (
                                  pat, "context=%s\n" % ctx if ctx else "", name, j, act))
    return "\n".join(blocks)


def peak_rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_sec(tmp, rs, events):
    rules_file = os.path.join(tmp, "sec.rules")
    log = os.path.join(tmp, "events.log")
    out = os.path.join(tmp, "sec.out")
    with open(rules_file, "w") as f:
        f.write(sec_rules(rs).replace("%out", out))
    now = int(time.time())
    with open(log, "w") as f:
        for i, (k, d, s) in enumerate(events):
            f.write("%d %s %s %s\n" % (now + i * 600 // len(events), k, s, d))
    open(out, "w").close()
    t0 = time.monotonic()
    p = subprocess.Popen(["sec", "--conf=" + rules_file, "--input=" + log, "--fromstart",
                          "--notail", "--intevents", "--debug=3", "--log=" + os.path.join(
                              tmp, "sec.log"), "--nochildterm"],
                         stdout=subprocess.DEVNULL)
    hwm = 0
    while p.poll() is None:
        hwm = max(hwm, peak_rss_kb(p.pid))
        time.sleep(0.2)
    secs = time.monotonic() - t0
    if p.returncode != 0:
        sys.exit("sec failed: rc %d (see %s)" % (p.returncode, tmp))
    found = set()
    with open(out) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2:
                found.add((parts[0], parts[1]))
    return secs, hwm, found


def run_secmgr(tmp, rs, events):
    db = os.path.join(tmp, "moat.db")
    conf = os.path.join(tmp, "moat.conf")
    subprocess.run([MOATCTL, "-d", db, "db", "init"], check=True, capture_output=True)
    con = sqlite3.connect(db)
    con.executemany("INSERT INTO correlation_rules(name, kind, params_json, response_json, "
                    "enabled) VALUES (?, ?, ?, ?, 1)",
                    [(n, "multi" if k == "multi" else k, json.dumps(p),
                      json.dumps({"incident": True}), ) for n, k, p in rs])
    now = int(time.time())
    con.executemany("INSERT INTO events(ts, daemon, kind, severity, src_ip, detail_json) "
                    "VALUES (?, ?, ?, 1, ?, '{}')",
                    [(now + i * 600 // len(events), d, k, s)
                     for i, (k, d, s) in enumerate(events)])
    con.commit()
    last = con.execute("SELECT max(id) FROM events").fetchone()[0]
    con.close()
    subprocess.run(["chown", "-R", "moat:", tmp], check=True)
    with open(conf, "w") as f:
        f.write('common = { store = "%s"; user = "moat"; };\nsecmgr = { forensic_log = "%s"; };\n'
                % (db, os.path.join(tmp, "forensic.log")))
    t0 = time.monotonic()
    p = subprocess.Popen([SECMGR, "-c", conf, "-f"], stdout=open(os.path.join(tmp, "secmgr.log"), "w"),
                         stderr=subprocess.STDOUT)
    hwm = 0
    ro = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=30)
    try:
        while True:
            if p.poll() is not None:
                sys.exit("moat-secmgr exited: rc %s (see %s/secmgr.log)" % (p.returncode, tmp))
            hwm = max(hwm, peak_rss_kb(p.pid))
            cur = ro.execute("SELECT last_event_id FROM secmgr_state").fetchone()
            if cur and cur[0] >= last:
                break
            time.sleep(0.05)
        secs = time.monotonic() - t0
        found = {(r, k) for r, k in ro.execute(
            "SELECT c.name, i.key FROM incidents i JOIN correlation_rules c ON c.id = i.rule_id")}
    finally:
        ro.close()
        p.terminate()
        p.wait(timeout=30)
    return secs, hwm, found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1000000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--no-sec", action="store_true", help="skip SEC (its time is long)")
    ap.add_argument("--no-secmgr", action="store_true", help="SEC alone")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    rs = rules(rng)
    events = stream(rng, a.events)
    want = oracle(rs, events)
    tmp = tempfile.mkdtemp(prefix="moat-secbench-")
    os.chmod(tmp, 0o755)
    ok = True
    try:
        print("events %d, rules %d (20 threshold, 15 multi, 15 sequence), sources %d, "
              "incidents expected %d" % (len(events), len(rs), NSRC, len(want)))
        m_secs, m_hwm, m_found = run_secmgr(tmp, rs, events) if not a.no_secmgr else (
            1.0, 0, want)
        print("moat-secmgr: %.2f s, %.0f events/s, peak resident %d kB, incidents %d%s" % (
            m_secs, len(events) / m_secs, m_hwm, len(m_found),
            "" if m_found == want else " (DIFFER from expected: %d missing, %d extra)" % (
                len(want - m_found), len(m_found - want))))
        ok = ok and m_found == want
        if not a.no_sec:
            s_secs, s_hwm, s_found = run_sec(tmp, rs, events)
            print("sec 2.9:     %.2f s, %.0f events/s, peak resident %d kB, incidents %d%s" % (
                s_secs, len(events) / s_secs, s_hwm, len(s_found),
                "" if s_found == want else " (DIFFER from expected: %d missing, %d extra)" % (
                    len(want - s_found), len(s_found - want))))
            ok = ok and s_found == want
            print("ratio moat-secmgr / sec: %.1fx (target >= 50x)" % (s_secs / m_secs))
    finally:
        if a.keep:
            print("kept", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
