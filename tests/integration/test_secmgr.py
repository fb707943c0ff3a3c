"""moat-secmgr through a real stack (moat-stack starts it with the demo
rules: infected-burst, decoy-then-mail, many-fronts; the stack's own clients
127.0.0.1-3 are exempt, so these tests send from other loopback addresses).

  - three EICAR mails from one client address through Postfix: exactly one
    incident and one threat_sources row, and that address's next mail is
    refused by the milter;
  - a decoy login (an events row as moat-decoyd writes it) then infected
    mail from the same address: one incident of decoy-then-mail holding both
    events;
  - killing secmgr (SIGKILL) mid-stream and starting it again answers every
    key exactly once;
  - a bad rule written with sqlite3 is reported (event + log) and skipped,
    and moatctl refuses it;
  - moatctl incidents ack/close, then a new incident with the next
    escalation step.
"""
import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from moatstack import EICAR, uniq, wait_for, wait_policy


@pytest.fixture(scope="module")
def sm(st):
    if st.env.get("SECMGR") != "running" or not st.running("secmgr"):
        pytest.fail("moat-secmgr is not running in the stack:\n" + st.log("moat-secmgr"))
    return st


def incidents(st, rule, key):
    return st.sql("SELECT i.* FROM incidents i JOIN correlation_rules r ON r.id = i.rule_id "
                  "WHERE r.name = ? AND i.key = ? ORDER BY i.id", (rule, key))


def send_eicar(st, source, to="u@beta.example"):
    return st.send(to, subject=uniq("secmgr"), body="see attachment",
                   attach=[("eicar.com", EICAR)], source=source)


def cursor(st):
    return st.sql("SELECT last_event_id FROM secmgr_state")[0]["last_event_id"]


def max_event(st):
    return st.sql("SELECT coalesce(max(id), 0) AS m FROM events")[0]["m"]


def insert_events(st, rows):
    """rows: (daemon, kind, src_ip, detail) -> their ids, in one transaction."""
    import sqlite3
    con = sqlite3.connect(st.env["DB"], timeout=30)
    try:
        ids = []
        now = int(time.time())
        for daemon, kind, ip, detail in rows:
            cur = con.execute("INSERT INTO events(ts, daemon, kind, severity, src_ip, "
                              "detail_json) VALUES (?, ?, ?, 2, ?, ?)",
                              (now, daemon, kind, ip, detail))
            ids.append(cur.lastrowid)
        con.commit()
        return ids
    finally:
        con.close()


def test_three_infected_make_a_threat_source(sm):
    src = "127.0.0.50"
    for _ in range(3):
        r = send_eicar(sm, src)
        assert r.queue_id is None and r.last_reply().startswith("550"), r.transcript
    inc = wait_for(lambda: incidents(sm, "infected-burst", src), 30, 0.2,
                   "infected-burst incident for %s" % src)
    infected = [e["id"] for e in sm.sql("SELECT id FROM events WHERE kind = 'mail.infected' "
                                         "AND src_ip = ? ORDER BY id", (src,))]
    assert len(infected) == 3, infected
    assert len(inc) == 1 and inc[0]["status"] == "open", inc
    assert json.loads(inc[0]["event_ids"]) == infected
    threat = sm.sql("SELECT * FROM threat_sources WHERE kind = 'ip' AND value = ?", (src,))
    assert len(threat) == 1 and threat[0]["origin"] == "secmgr", threat
    assert 3500 <= threat[0]["expires"] - time.time() <= 3601, threat
    resp = sm.sql("SELECT detail_json FROM events WHERE kind = 'secmgr.response' AND src_ip = ?",
                  (src,))
    assert len(resp) == 1 and json.loads(resp[0]["detail_json"])["rule"] == "infected-burst"
    # The milter learns of the row through the policy generation the
    # threat_sources triggers bump.
    wait_policy(sm)
    r = send_eicar(sm, src, to="u@alpha.example")
    assert r.queue_id is None, r.transcript
    assert any(x.startswith("550 5.7.1") and "threat source" in x for x in r.replies), r.replies
    # The operator's condensed mail, through the re-injection port.
    sm.wait_sink(lambda m: "moat-secmgr" in (m.subject or "") and src in m.text, timeout=30)
    # Still exactly one incident: the refused mail is not infected mail.
    time.sleep(1)
    assert len(incidents(sm, "infected-burst", src)) == 1


def test_decoy_login_then_infected_mail(sm):
    src = "127.0.0.51"
    login, = insert_events(sm, [("decoyd", "decoy.login", src,
                                 '{"user":"root","password":"123456","personality":"telnet"}')])
    r = send_eicar(sm, src)
    assert r.queue_id is None, r.transcript
    inc = wait_for(lambda: incidents(sm, "decoy-then-mail", src), 30, 0.2,
                   "decoy-then-mail incident")
    infected = [e["id"] for e in sm.sql("SELECT id FROM events WHERE kind = 'mail.infected' "
                                         "AND src_ip = ?", (src,))]
    assert len(inc) == 1 and json.loads(inc[0]["event_ids"]) == [login] + infected, inc
    # Two daemons saw the address: the many-fronts rule's one incident too.
    many = wait_for(lambda: incidents(sm, "many-fronts", src), 30, 0.2, "many-fronts")
    assert len(many) == 1 and set(json.loads(many[0]["event_ids"])) == {login} | set(infected)
    assert len(incidents(sm, "infected-burst", src)) == 0
    assert sm.sql("SELECT expires FROM threat_sources WHERE value = ?", (src,))[0]["expires"] \
        - time.time() > 86000


def test_restart_mid_stream_processes_nothing_twice(sm):
    # 1500 addresses x 3 infected events, interleaved: 1500 responses.
    sm.reconfigure("secmgr", "batch", 50, how="hup")
    addrs = ["10.77.%d.%d" % (i // 250, i % 250 + 1) for i in range(1500)]
    rows = [("milter", "mail.infected", a, '{"virus":"Eicar-Test-Signature"}')
            for _ in range(3) for a in addrs]
    ids = insert_events(sm, rows)
    # Kill it hard once some, not all, are answered.
    wait_for(lambda: cursor(sm) > ids[0], 30, 0.01, "secmgr started on the stream")
    os.kill(sm.pid("secmgr"), signal.SIGKILL)
    at_kill = cursor(sm)
    assert at_kill < ids[-1], "secmgr answered everything before the kill: no test"
    sm.restart("secmgr")
    wait_for(lambda: cursor(sm) >= ids[-1], 120, 0.5, "secmgr caught up")
    got = sm.sql("SELECT i.key, count(*) AS n, sum(i.responses) AS r FROM incidents i "
                 "JOIN correlation_rules c ON c.id = i.rule_id WHERE c.name = 'infected-burst' "
                 "AND i.key LIKE '10.77.%' GROUP BY i.key")
    assert len(got) == len(addrs), (len(got), at_kill)
    assert all(g["n"] == 1 and g["r"] == 1 for g in got), [g for g in got if g["n"] != 1][:5]
    resp = sm.sql("SELECT count(*) AS n FROM events WHERE kind = 'secmgr.response' "
                  "AND src_ip LIKE '10.77.%'")[0]["n"]
    assert resp == len(addrs)
    assert "following events after %d" % at_kill in sm.log("moat-secmgr") or at_kill < ids[-1]
    sm.reconfigure("secmgr", "batch", 1000, how="hup")


def test_bad_rule_reported_and_skipped(sm):
    r = sm.moatctl("rules", "add", "broken", "threshold", '{"kinds":"mail.infected"}', "{}")
    assert r.returncode == 1 and "params" in r.stderr, r.stderr
    sm.sql("INSERT INTO correlation_rules(name, kind, params_json, response_json) "
           "VALUES ('broken', 'threshold', '{\"kinds\":\"mail.infected\",\"key\":\"src_ip\",\"count\":3,\"window\":60}', '{}')")
    ev = wait_for(lambda: sm.sql("SELECT detail_json FROM events WHERE kind = "
                                 "'secmgr.rule_invalid' AND detail_json LIKE '%broken%'"),
                  15, 0.2, "rule_invalid event")
    assert "params.kinds" in json.loads(ev[0]["detail_json"])["error"]
    sm.wait_log("moat-secmgr", r"rule \d+ \(broken\) skipped: params.kinds")
    # The other rules still answer.
    ids = insert_events(sm, [("milter", "mail.infected", "10.66.0.1", "{}")] * 3)
    wait_for(lambda: incidents(sm, "infected-burst", "10.66.0.1"), 15, 0.2, "still answering")
    assert cursor(sm) >= ids[-1]
    # Unknown kinds and malformed details are kept and said once.
    insert_events(sm, [("x", "no.such.kind", "10.66.0.2", "{"), ("x", "no.such.kind", None, "[")])
    sm.wait_log("moat-secmgr", r'unknown kind "no.such.kind"')
    sm.moatctl("rules", "remove", "broken", check=True)


def test_moatctl_incidents_ack_close_and_escalation(sm):
    key = "10.55.0.1"
    insert_events(sm, [("milter", "mail.infected", key, "{}")] * 3)
    inc = wait_for(lambda: incidents(sm, "infected-burst", key), 15, 0.2, "incident")[0]
    out = sm.moatctl("incidents", "list", check=True).stdout
    assert key in out
    show = sm.moatctl("incidents", "show", inc["id"], check=True).stdout
    assert "mail.infected" in show and "infected-burst" in show
    sm.moatctl("incidents", "ack", inc["id"], "--by", "alice", check=True)
    sm.moatctl("incidents", "close", inc["id"], check=True)
    r = sm.moatctl("incidents", "close", inc["id"])
    assert r.returncode == 1 and "already closed" in r.stderr
    row = sm.sql("SELECT * FROM incidents WHERE id = ?", (inc["id"],))[0]
    assert row["acked"] == 1 and row["acked_by"] == "alice" and row["status"] == "closed"
    # The next burst opens a new incident, one escalation step further (6 h).
    insert_events(sm, [("milter", "mail.infected", key, "{}")] * 3)
    both = wait_for(lambda: len(incidents(sm, "infected-burst", key)) == 2 and
                    incidents(sm, "infected-burst", key), 15, 0.2, "second incident")
    assert both[1]["status"] == "open"
    assert 6 * 3600 - 100 <= both[1]["expires"] - time.time() <= 6 * 3600 + 1


def test_forensic_failure_fails_closed(sm):
    # A full disk: the forensic log on a 64 KB tmpfs, filled once secmgr
    # has opened it.
    good = [l for l in open(sm.env["CONF"]) if "forensic_log" in l][0].split('"')[1]
    small = sm.path("secmgr-small")
    os.makedirs(small, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0755", "tmpfs", small],
                   check=True)
    try:
        shutil.chown(small, "moat")
        sm.reconfigure("secmgr", "forensic_log", os.path.join(small, "forensic.log"))
        subprocess.run(["dd", "if=/dev/zero", "of=" + os.path.join(small, "filler"), "bs=4k"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        before = cursor(sm)
        mark = len(sm.log("moat-secmgr"))
        ids = insert_events(sm, [("milter", "mail.infected", "10.33.0.1", "{}")] * 3)
        # Said at every retry, and nothing answered: the cursor stays.
        wait_for(lambda: sm.log("moat-secmgr")[mark:].count("the cursor stays (fail closed)") >= 3,
                 15, 0.2, "fail-closed said at each retry")
        assert incidents(sm, "infected-burst", "10.33.0.1") == []
        assert not sm.sql("SELECT 1 FROM threat_sources WHERE value = '10.33.0.1'")
        assert cursor(sm) < ids[0] and cursor(sm) == before
    finally:
        sm.reconfigure("secmgr", "forensic_log", good)
        subprocess.run(["umount", small], check=False)
    inc = wait_for(lambda: incidents(sm, "infected-burst", "10.33.0.1"), 15, 0.2, "answered")
    assert len(inc) == 1 and inc[0]["responses"] == 1
    assert "10.33.0.1" in open(good).read()
    r = sm.moatctl("forensic", "verify", good)
    assert r.returncode == 0, r.stdout + r.stderr
