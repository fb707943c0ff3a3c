# SPDX-License-Identifier: GPL-2.0-or-later
"""The stack itself: up, mail through Postfix to the sink, down with nothing left."""
import grp
import os
import re
import shutil
import stat
import subprocess
import time
import uuid

import pytest

from moatstack import Stack, StackError

KEYS = ["SMTP_PORT", "REINJECT_PORT", "SINK_PORT", "SINK_DIR", "DB", "CONF", "SIGS_DIR",
        "LOG_DIR", "RUN_DIR", "BIN_DIR", "POSTFIX_CONFIG_DIR"]


def ps_refs(d):
    out = subprocess.run(["ps", "-eo", "pid=,args="], stdout=subprocess.PIPE, text=True).stdout
    return [l for l in out.splitlines() if d in l and "ps -eo" not in l]


@pytest.fixture(scope="module")
def st():
    s = Stack()
    try:
        s.up()
        yield s
    finally:
        if s.dir:
            s.down(check=False)
            shutil.rmtree(s.dir, ignore_errors=True)


def test_env_keys(st):
    for k in KEYS:
        assert st.env.get(k), "stack.env lacks %s: %r" % (k, st.env)
    for k in ("SMTP_PORT", "REINJECT_PORT", "SINK_PORT"):
        assert 0 < int(st.env[k]) < 65536
    assert len({st.env[k] for k in ("SMTP_PORT", "REINJECT_PORT", "SINK_PORT")}) == 3
    assert st.env["POSTFIX_CONFIG_DIR"] == os.path.join(st.dir, "postfix")
    if st.env.get("MILTER") == "running":
        # A UNIX socket Postfix's smtpd (user postfix) can write to.
        sock = st.env["MILTER_SOCKET"]
        assert stat.S_ISSOCK(os.stat(sock).st_mode)
        assert os.stat(sock).st_gid == grp.getgrnam("postfix").gr_gid
        assert os.stat(sock).st_mode & 0o777 == 0o660
        assert 'socket = "unix:%s";' % sock in open(st.env["CONF"]).read()
        out = subprocess.run(["postconf", "-c", st.env["POSTFIX_CONFIG_DIR"], "-h",
                              "smtpd_milters"], capture_output=True, text=True).stdout
        assert out.strip() == "unix:" + sock
    if st.env.get("QUARANTINED") == "running":
        assert st.env["QUARANTINE_URL"] == "unix:" + st.env["QUARANTINE_SOCKET"]
        assert os.path.exists(st.env["QUARANTINE_SOCKET"])
    with open(st.env["CONF"]) as f:
        conf = f.read()
    for group in ("common", "milter", "quarantined"):
        assert "%s = {" % group in conf
    assert 'store = "%s";' % st.env["DB"] in conf


def test_store_has_demo_data(st):
    rows = st.sql("SELECT s.name, s.status FROM subscriber_domains d "
                  "JOIN subscribers s ON s.id = d.subscriber_id WHERE d.domain = ?",
                  ("alpha.example",))
    assert rows == [{"name": "Alpha", "status": "active"}]


def test_signatures(st):
    names = sorted(os.listdir(st.env["SIGS_DIR"]))
    assert names == ["eicar.ndb", "moat-test.hdb"]


def test_status(st):
    rc, out = st.status()
    assert rc == 0, out
    assert "postfix" in out and "running" in out


def test_mail_reaches_sink(st):
    tag = uuid.uuid4().hex
    subject = "stack test " + tag
    body = "Body line for %s\n.leading dot survives unstuffing\n" % tag
    r = st.send("someone@alpha.example", from_="sender@example.net",
                subject=subject, body=body)
    assert r.rc == 0, r.transcript
    assert r.queue_id, r.transcript
    [m] = st.wait_sink(lambda m: m.subject == subject, timeout=60)
    assert ("Body line for %s" % tag).encode() in m.data
    assert b"\n.leading dot survives" in m.data
    assert m.mail_from == "sender@example.net"
    assert m.rcpt_to == ["someone@alpha.example"]
    assert m.helo
    assert r.queue_id.encode() in m.data          # Postfix's Received: header
    line = st.wait_postfix_status(r.queue_id, "sent", timeout=30)
    assert "127.0.0.1" in line
    if st.milter_running:
        assert m.header("X-Virus-Scanned"), m.text[:2000]


def test_reinject_port_delivers(st):
    subject = "reinject " + uuid.uuid4().hex
    r = st.send("someone@alpha.example", subject=subject, body="via reinject",
                port=int(st.env["REINJECT_PORT"]))
    assert r.ok, r.transcript
    [m] = st.wait_sink(lambda m: m.subject == subject, timeout=60)
    assert m.header("X-Virus-Scanned") is None     # the reinject port has no milter


def test_send_helper_options(st):
    tag = uuid.uuid4().hex
    r = st.send(["someone@alpha.example", "other@alpha.example"], from_="a@example.net",
                subject="opts " + tag, body="see attachment\n",
                headers={"X-Test-Tag": tag},
                attach=[("notes.txt", b"hello attachment " + tag.encode(), "text/plain")])
    assert r.ok, r.transcript
    [m] = st.wait_sink(lambda m: m.header("X-Test-Tag") == tag, timeout=60)
    assert sorted(m.rcpt_to) == ["other@alpha.example", "someone@alpha.example"]
    files = {name: payload for _, name, payload in m.parts() if name}
    assert files == {"notes.txt": b"hello attachment " + tag.encode()}
    raw = ("From: x@example.net\r\nTo: someone@alpha.example\r\nSubject: raw %s\r\n"
           "\r\nraw body\r\n" % tag)
    r = st.send("someone@alpha.example", data=raw)
    assert r.ok, r.transcript
    [m] = st.wait_sink(lambda m: m.subject == "raw " + tag, timeout=60)
    assert m.data.endswith(b"\r\n\r\nraw body\r\n") or b"raw body" in m.data


def test_sink_rejects_on_request(stack_factory):
    s = stack_factory(env={"MOAT_SINK_REJECT": "bounce@alpha.example=550"})
    r = s.send("bounce@alpha.example", subject="will bounce", body="x")
    assert r.ok, r.transcript           # Postfix accepts, then the sink refuses
    line = s.wait_postfix_status(r.queue_id, "bounced", timeout=60)
    assert "rejected by moat-sink" in line


def test_restart_sink(st):
    old = st.pid("sink")
    st.restart("sink")
    assert st.running("sink") and st.pid("sink") != old
    subject = "after restart " + uuid.uuid4().hex
    assert st.send("someone@alpha.example", subject=subject, body="x").ok
    st.wait_sink(lambda m: m.subject == subject, timeout=60)


def test_reconfigure_edits_conf(st):
    st.reconfigure("common", "log_level", "debug", how=None)
    with open(st.env["CONF"]) as f:
        assert 'log_level = "debug";' in f.read()
    st.reconfigure("common", "log_level", "info", how=None)
    # Replacing a key twice must keep the file valid libconfig, one setting
    # per line (an earlier version swallowed the line break).
    with open(st.env["CONF"]) as f:
        text = f.read()
    assert re.search(r'(?m)^\s*log_level = "info";\n', text), text
    r = subprocess.run([st.env["MOATCTL"], "-c", st.env["CONF"], "config", "check"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert r.returncode == 0, r.stdout


def test_down_leaves_nothing(st):
    d = st.dir
    st.down()                      # raises on a failed down or leftovers
    assert ps_refs(d) == []
    assert st.leftovers() == []
    # down again is harmless
    st.down()
    with open("/etc/postfix/main.cf") as f:
        assert os.path.join(d, "postfix") not in f.read()


def test_two_stacks_in_parallel(stack_factory):
    a = stack_factory()
    b = stack_factory()
    assert a.env["SMTP_PORT"] != b.env["SMTP_PORT"]
    sa = "to a " + uuid.uuid4().hex
    sb = "to b " + uuid.uuid4().hex
    assert a.send("someone@alpha.example", subject=sa, body="a").ok
    assert b.send("someone@alpha.example", subject=sb, body="b").ok
    a.wait_sink(lambda m: m.subject == sa, timeout=60)
    b.wait_sink(lambda m: m.subject == sb, timeout=60)
    assert not [m for m in a.sink_messages() if m.subject == sb]


def test_milter_over_tcp(stack_factory):
    """MOAT_MILTER_PORT: moat-milter on loopback TCP, where it must answer
    every step (the no-reply steps are for the UNIX socket only: a missing
    reply would stall Postfix until its milter timeout and tempfail)."""
    import socket
    from moatstack import EICAR, OUTSIDE, milter_line, wait_policy
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    s = stack_factory(env={"MOAT_MILTER_PORT": port})
    if not s.milter_running:
        pytest.fail("moat-milter is not running in the stack:\n" + s.tails())
    assert s.env["MILTER_PORT"] == str(port) and not s.env.get("MILTER_SOCKET"), s.env
    out = subprocess.run(["postconf", "-c", s.env["POSTFIX_CONFIG_DIR"], "-h", "smtpd_milters"],
                         capture_output=True, text=True).stdout
    assert out.strip() == "inet:127.0.0.1:%d" % port
    s.sql("INSERT OR IGNORE INTO policies (name, scan_mode, on_infected) "
          "VALUES ('test-tcp', 'all', 'reject')")
    s.sql("INSERT OR REPLACE INTO recipient_policies (address, policy_id) "
          "SELECT 'tcp@beta.example', id FROM policies WHERE name = 'test-tcp'")
    wait_policy(s)
    # Many headers and a body of several milter chunks (64 KB each).
    subject = "over tcp " + uuid.uuid4().hex
    body = "".join("line %06d of a long clean body\n" % i for i in range(8000))
    r = s.send("tcp@beta.example", subject=subject, body=body, extra=OUTSIDE,
               headers={"X-Tcp-%02d" % i: "v%d" % i for i in range(30)})
    assert r.ok, r.transcript
    assert "verdict=clean" in milter_line(s, r.queue_id)
    [m] = s.wait_sink(lambda m: m.subject == subject, timeout=60)
    assert m.header("X-Virus-Scanned") and m.header("X-Tcp-29") == "v29"
    assert b"line 007999 of a long clean body" in m.data
    r = s.send("tcp@beta.example", subject="eicar over tcp", body=EICAR.decode(), extra=OUTSIDE)
    assert r.queue_id is None and r.last_reply().startswith("550 5.7.1"), r.transcript


def test_up_fails_loudly_on_taken_port():
    import socket
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    st = Stack()
    try:
        with pytest.raises(StackError):
            st.up(env={"MOAT_SINK_PORT": s.getsockname()[1]}, timeout=120)
        assert st.leftovers() == []
    finally:
        s.close()
        st.down(check=False)
        if st.dir:
            shutil.rmtree(st.dir, ignore_errors=True)
