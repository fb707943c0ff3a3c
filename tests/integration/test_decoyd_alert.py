# SPDX-License-Identifier: GPL-2.0-or-later
"""moat-decoyd's alerts and containment through a real stack (issue 11,
Alerts and Containment): the keeper process mails the operator through the
stack's Postfix (re-injection port) into the sink, condensed to one mail per
source per window (a short window here: moat.conf rewritten, decoyd
restarted): the first login attempt mails at once, a second one from the
same source comes in one summary with both session keys when the window
ends, another source gets its own mail; hostile credentials (a CRLF-split
header attempt, bytes that are not UTF-8, terminal escapes) do not break the
mail; the process that talks to intruders is filtered (seccomp), chrooted in
the recording directory and runs as moat; killing the keeper does not stop
it from serving and recording."""
import email
import email.policy
import json
import os
import pwd
import re
import signal
import socket
import time

import pytest

from moatstack import BIN, wait_for

WINDOW = 6          # seconds: alert_window of this module's stack


@pytest.fixture(scope="module")
def dd(stack):
    if stack.env.get("DECOYD") != "running":
        pytest.skip("moat-decoyd is not built")
    conf = stack.path("moat.conf")
    with open(conf) as f:
        text = f.read()
    assert "alert_to" in text, "ctl/stack/moat.conf.in sets no alert_to"
    text = re.sub(r"(\n\s*alert_to\s*=)", "\n  alert_window = %d;\\1" % WINDOW, text, count=1)
    with open(conf, "w") as f:
        f.write(text)
    stack.restart("decoyd")
    wait_for(lambda: "keeper: alerts to" in stack.log("moat-decoyd"), timeout=15,
             what="the keeper's alerts line")
    return stack


def port(st):
    words = dict(w.split(":", 1) for w in st.env["DECOY_PORTS"].split())
    return int(words["telnet"])


def _read(s, until, timeout=5.0):
    """Reads until one of the byte strings in until ends the data."""
    s.settimeout(timeout)
    out = b""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            d = s.recv(4096)
        except socket.timeout:
            break
        if not d:
            break
        out += d
        if any(out.endswith(u) for u in until):
            break
    return out


def login(st, src, user, password, commands=()):
    """A raw telnet client from address src: logs in, types commands,
    leaves.  Returns the session key (from its decoy.connect event)."""
    s = socket.socket()
    s.bind((src, 0))
    s.connect(("127.0.0.1", port(st)))
    local = s.getsockname()[1]
    _read(s, [b"\xff\xfd\x27"])
    s.sendall(user + b"\r\n")
    _read(s, [b"Password: "])
    s.sendall(password + b"\r\n")
    _read(s, [b"# ", b"$ "])
    for c in commands:
        s.sendall(c + b"\r\n")
        _read(s, [b"# ", b"$ "])
    s.close()

    def key():
        for r in st.sql("SELECT detail_json FROM events WHERE kind = 'decoy.connect' "
                        "AND src_ip = ?", (src,)):
            d = json.loads(r["detail_json"])
            if d.get("src_port") == local:
                return d["session"]
        return None
    return wait_for(key, timeout=10, what="decoy.connect of %s:%d" % (src, local))


def alerts(st, src):
    return [m for m in st.sink_messages() if m.header("X-Moat-Decoy-Source") == src]


def body(m):
    return m.msg.get_body(preferencelist=("plain",)).get_content()


def test_first_attempt_at_once_then_one_summary(dd):
    src = "127.0.0.21"
    k1 = login(dd, src, b"root", b"123456", [b"uname -a"])
    t_first = time.monotonic()
    first = dd.wait_sink(lambda m: m.header("X-Moat-Decoy-Source") == src, timeout=10)
    assert time.monotonic() - t_first < WINDOW - 1, "the first alert waited for the window"
    k2 = login(dd, src, b"admin", b"admin")
    time.sleep(1)
    assert len(alerts(dd, src)) == 1, "a second mail inside the window"
    m = first[0]
    assert m.rcpt_to == ["soc@gateway.example"]
    assert src in m.subject and "telnet/%d" % port(dd) in m.subject
    assert m.header("X-Moat-Decoy-Sessions") == k1
    text = body(m)
    assert '"root" / "123456"' in text and "moatctl decoy show" in text and k1 in text

    both = dd.wait_sink(lambda m: m.header("X-Moat-Decoy-Source") == src, count=2,
                        timeout=WINDOW + 15)
    summary = both[1]
    assert "summary" in summary.subject and "2 login(s)" in summary.subject
    assert summary.header("X-Moat-Decoy-Sessions").split() == [k1, k2]
    text = body(summary)
    assert '"root" / "123456"' in text and '"admin" / "admin"' in text
    assert '"uname -a"' in text and k1 in text and k2 in text
    # The summary opened a quiet window: nothing more, then it is forgotten.
    time.sleep(WINDOW + 2)
    assert len(alerts(dd, src)) == 2
    sent = [json.loads(r["detail_json"]) for r in dd.sql(
        "SELECT detail_json FROM events WHERE kind = 'decoy.alert' AND src_ip = ?", (src,))]
    assert [e["mail"] for e in sent] == ["first", "summary"], sent


def test_second_source_gets_its_own_mail(dd):
    a, b = "127.0.0.22", "127.0.0.23"
    ka = login(dd, a, b"pi", b"raspberry")
    kb = login(dd, b, b"oracle", b"oracle")
    ma = dd.wait_sink(lambda m: m.header("X-Moat-Decoy-Source") == a, timeout=10)[0]
    mb = dd.wait_sink(lambda m: m.header("X-Moat-Decoy-Source") == b, timeout=10)[0]
    assert ma.header("X-Moat-Decoy-Sessions") == ka
    assert mb.header("X-Moat-Decoy-Sessions") == kb
    assert '"pi" / "raspberry"' in body(ma) and '"oracle" / "oracle"' in body(mb)


def test_hostile_credentials_do_not_break_the_mail(dd):
    src = "127.0.0.24"
    user = b"r\xc3\x28oot\x1b[31m\x80"                      # not UTF-8, an escape
    # CR LF ends the user's line: the rest is the password, shaped as a
    # header an injection would add.
    password = b"Bcc: victim@example.org\x07\xd0\xbf\xd0\xb0\xd1\x80\xe2\x80\xae"
    key = login(dd, src, user, password, [b"echo \x1b]0;pwned\x07 \\ \"q\""])
    m = dd.wait_sink(lambda m: m.header("X-Moat-Decoy-Source") == src, timeout=10)[0]
    raw = m.data
    head, _, rawbody = raw.partition(b"\r\n\r\n")
    assert all(b < 0x80 for b in raw), "8-bit bytes on the wire"
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert b"\r\nBcc:" not in head and not m.headers("Bcc")
    assert m.rcpt_to == ["soc@gateway.example"]
    assert m.header("X-Moat-Decoy-Sessions") == key
    text = body(m)                                          # decodes, as UTF-8
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    # (The fake terminal's line editor drops escape sequences and BEL, as
    # a real one does; alert_clean's own cases are in decoyd_alert_test.)
    assert '"r\\xc3(oot\\x80" / "Bcc: victim@example.orgпар\\xe2\\x80\\xae"' in text, text
    # The command came after the first mail: it is in the summary.
    summary = dd.wait_sink(lambda m: m.header("X-Moat-Decoy-Source") == src, count=2,
                           timeout=WINDOW + 15)[1]
    assert all(b < 0x80 for b in summary.data)
    assert '"echo 0;pwned \\\\ \\"q\\""' in body(summary), body(summary)


def test_loop_process_is_contained(dd):
    pid = dd.pid("moat-decoyd")
    with open("/proc/%d/status" % pid) as f:
        status = dict(l.split(":", 1) for l in f if ":" in l)
    try:
        with open(os.path.join(BIN, "CMakeCache.txt")) as f:
            sanitize = "MOAT_SANITIZE:BOOL=ON" in f.read()
    except OSError:
        sanitize = False
    if not sanitize:
        assert status["Seccomp"].strip() == "2"
    assert status["NoNewPrivs"].strip() == "1" or sanitize
    moat = pwd.getpwnam("moat")
    assert status["Uid"].split() == [str(moat.pw_uid)] * 4
    assert status["Gid"].split() == [str(moat.pw_gid)] * 4
    assert os.readlink("/proc/%d/root" % pid) == os.path.realpath(dd.env["DECOY_DIR"])
    k = keeper(dd)
    with open("/proc/%d/status" % k) as f:
        kst = dict(l.split(":", 1) for l in f if ":" in l)
    assert kst["Uid"].split() == [str(moat.pw_uid)] * 4
    if not sanitize:
        assert kst["Seccomp"].strip() == "2"


def test_hup_inside_the_chroot_keeps_serving(dd):
    """moat.conf is outside the chroot: the reload is refused and logged,
    the running settings stay (README: restart to change them)."""
    pid = dd.pid("moat-decoyd")
    os.kill(pid, signal.SIGHUP)
    wait_for(lambda: "keeping the running configuration" in dd.log("moat-decoyd"),
             timeout=10, what="the refused reload")
    s = socket.socket()
    s.connect(("127.0.0.1", port(dd)))
    assert _read(s, [b"\xff\xfd\x27"]).endswith(b"\xff\xfd\x27")
    s.close()
    assert dd.pid("moat-decoyd") == pid and dd.running("moat-decoyd")


def keeper(st):
    pid = st.pid("moat-decoyd")
    kids = []
    for e in os.listdir("/proc"):
        if not e.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % e) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(e))
    assert len(kids) == 1, "moat-decoyd's children: %r" % kids
    with open("/proc/%d/comm" % kids[0]) as f:
        assert f.read().strip() == "decoyd-keeper"
    return kids[0]


def test_stalled_keeper_costs_records_not_service(dd):
    """A keeper that does not read (stopped): the channel fills, the loop
    drops records (counted, logged) and keeps serving; once it reads again
    rows come back."""
    k = keeper(dd)
    log0 = len(dd.log("moat-decoyd"))
    os.kill(k, signal.SIGSTOP)
    try:
        t0, n = time.monotonic(), 0
        while "channel full" not in dd.log("moat-decoyd")[log0:]:
            assert time.monotonic() - t0 < 120, "no drop after %d sessions" % n
            for i in range(200):
                s = socket.socket()
                s.bind(("127.0.1.%d" % (1 + i % 200), 0))    # under per_source
                s.connect(("127.0.0.1", port(dd)))
                assert s.recv(3) == b"\xff\xfd\x18"          # served, never blocked
                s.close()
                n += 1
    finally:
        os.kill(k, signal.SIGCONT)
    assert keeper(dd) == k, "the keeper did not survive SIGSTOP/SIGCONT"
    before = dd.sql("SELECT count(*) AS n FROM decoy_sessions")[0]["n"]
    login(dd, "127.0.0.27", b"after", b"stall")
    wait_for(lambda: dd.sql("SELECT count(*) AS n FROM decoy_sessions")[0]["n"] > before,
             timeout=20, what="rows once the keeper reads again")


def test_killed_keeper_leaves_the_loop_serving_and_recording(dd):
    pid = dd.pid("moat-decoyd")
    k = keeper(dd)
    os.kill(k, signal.SIGKILL)
    wait_for(lambda: "keeper (pid %d) died of signal 9" % k in dd.log("moat-decoyd") or
             "keeper (pid %d) is gone" % k in dd.log("moat-decoyd"),
             timeout=10, what="the loop noticing the dead keeper")
    # Still serving, still recording to files (no events any more).
    s = socket.socket()
    s.bind(("127.0.0.25", 0))
    s.connect(("127.0.0.1", port(dd)))
    _read(s, [b"\xff\xfd\x27"])
    s.sendall(b"root\r\n")
    assert b"Password: " in _read(s, [b"Password: "])
    s.sendall(b"toor\r\n")
    assert _read(s, [b"# "]).endswith(b"# ")
    s.sendall(b"echo after-the-keeper\r\n")
    assert b"after-the-keeper" in _read(s, [b"# "])
    s.close()

    def recorded():
        for n in os.listdir(dd.env["DECOY_DIR"]):
            p = os.path.join(dd.env["DECOY_DIR"], n)
            with open(p, "rb") as f:
                if b"echo after-the-keeper" in f.read() and b"127.0.0.25" in open(p, "rb").readline():
                    return p
        return None
    wait_for(recorded, timeout=10, what="the session's recording")
    assert dd.pid("moat-decoyd") == pid and dd.running("moat-decoyd")
