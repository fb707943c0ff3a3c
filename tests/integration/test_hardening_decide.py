# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 8, holes 2 and 7, through a real Postfix: the combined decision is
never weaker than a recipient's own policy, whatever the RCPT order; Moat's
own headers that arrive with a message are removed; mixed_recipients=defer
makes a real MTA (the stack's Postfix, relaying through a second smtpd with
a content_filter) deliver each policy's recipients in its own transaction.
"""
import re
import subprocess

import pytest

from moatstack import EICAR, OUTSIDE, encrypted_zip, milter_line, uniq, wait_for, wait_policy


@pytest.fixture(scope="module")
def delta(st):
    """Subscriber Delta (delta.example) with a scan-all + tag policy, the
    policy of hole 2 as reported."""
    st.sql("INSERT INTO policies (name, scan_mode, on_infected, on_unscannable, on_error) "
           "VALUES ('tagall', 'all', 'tag', 'pass', 'pass')")
    st.sql("INSERT INTO subscribers (name, status, contact) "
           "VALUES ('Delta', 'active', 'postmaster@delta.example')")
    st.sql("INSERT INTO subscriber_domains (domain, subscriber_id) "
           "SELECT 'delta.example', id FROM subscribers WHERE name = 'Delta'")
    st.sql("INSERT INTO subscriber_policies (subscriber_id, policy_id) "
           "SELECT s.id, p.id FROM subscribers s, policies p "
           "WHERE s.name = 'Delta' AND p.name = 'tagall'")
    wait_policy(st)
    return st


def code(r):
    """The last SMTP reply code of a swaks transcript."""
    m = re.findall(r"<\*\* (\d{3})|<- {1,2}(\d{3})", r.transcript)
    return [a or b for a, b in m][-1] if m else None


def test_hole2_reject_beats_tag(delta):
    st = delta
    for order in (["u@delta.example", "u@beta.example"], ["u@beta.example", "u@delta.example"]):
        subj = uniq("hole2")
        r = st.send(order, subject=subj, body="see attachment\r\n",
                    attach=[("eicar.com", EICAR)], extra=OUTSIDE)
        # Beta rejects infected mail: the whole message is rejected.
        assert not r.ok and "550 5.7.1" in r.transcript, r.transcript
        assert "Virus found" in r.transcript, r.transcript
        st.wait_queue_empty(timeout=30)
        assert not [m for m in st.sink_messages() if subj in m.subject], \
            "infected message delivered: %r" % st.sink_messages()


def test_unscannable_order_independent(delta):
    """Delta passes unscannable mail, Beta's default tempfails it: both
    orders tempfail (before, the scan coverage decided, so tagall won)."""
    st = delta
    z = encrypted_zip()
    for order in (["u@delta.example", "u@beta.example"], ["u@beta.example", "u@delta.example"]):
        subj = uniq("uns")
        r = st.send(order, subject=subj, body="zip\r\n",
                    attach=[("setup.exe.zip", z, "application/zip")], extra=OUTSIDE)
        assert not r.ok and re.search(r"451 4\.7\.0 .*could not be scanned", r.transcript), \
            r.transcript
    assert not [m for m in st.sink_messages() if "uns-" in m.subject]


def test_forged_status_headers_removed(delta):
    st = delta
    subj = uniq("forged")
    r = st.send("u@delta.example", subject=subj, body="hello\r\n", extra=OUTSIDE,
                headers=["X-Moat-Status: clean", "X-Virus-Scanned: moat-milter forged",
                         "X-Moat-Threat: none", "x-moat-status: clean"])
    assert r.ok, r.transcript
    [m] = st.wait_sink(lambda m: subj in m.subject)
    assert m.headers("X-Moat-Status") == ["clean"], m.headers("X-Moat-Status")
    scanned = m.headers("X-Virus-Scanned")
    assert len(scanned) == 1 and "forged" not in scanned[0], scanned
    assert m.headers("X-Moat-Threat") == [], m.headers("X-Moat-Threat")
    # Nothing forged with header_mode none either: deleted, none added.
    st.sql("UPDATE policies SET header_mode = 'none' WHERE name = 'tagall'")
    wait_policy(st)
    try:
        subj = uniq("forged-none")
        r = st.send("v@delta.example", subject=subj, body="hello\r\n", extra=OUTSIDE,
                    headers=["X-Moat-Status: clean", "X-Virus-Scanned: forged"])
        assert r.ok, r.transcript
        [m] = st.wait_sink(lambda m: subj in m.subject)
        assert m.headers("X-Moat-Status") == [] and m.headers("X-Virus-Scanned") == [], \
            m.msg.items()
    finally:
        st.sql("UPDATE policies SET header_mode = 'add' WHERE name = 'tagall'")
        wait_policy(st)


def _postfix(st, *args):
    subprocess.run(["postconf", "-c", st.env["POSTFIX_CONFIG_DIR"]] + list(args),
                   check=True, timeout=30)


def _relay_port(st):
    return int(st.env["SMTP_PORT"]) + 50


@pytest.fixture(scope="module")
def relay(delta):
    """A second smtpd on the stack's Postfix whose mail goes through a
    content_filter to the gateway port: Postfix's own SMTP client is then
    the sending MTA, and it retries deferred recipients (queue run 5 s)."""
    st = delta
    port = _relay_port(st)
    _postfix(st, "-M", "relayout/unix=relayout unix - - n - - smtp")
    _postfix(st, "-M", "127.0.0.1:%d/inet=127.0.0.1:%d inet n - n - - smtpd" % (port, port))
    _postfix(st, "-P", "127.0.0.1:%d/inet/content_filter=relayout:[127.0.0.1]:%s"
             % (port, st.env["SMTP_PORT"]))
    _postfix(st, "-P", "127.0.0.1:%d/inet/smtpd_milters=" % port)
    _postfix(st, "-P", "relayout/unix/smtp_bind_address=127.0.0.2")
    subprocess.run(["postfix", "-c", st.env["POSTFIX_CONFIG_DIR"], "reload"], check=True,
                   timeout=30, capture_output=True)
    wait_for(lambda: subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(port),
                                     "--quit-after", "EHLO"], capture_output=True,
                                    timeout=30).returncode == 0, 30, 0.5, "relay smtpd")
    return port


def test_defer_mixed_recipients_real_mta(relay, delta):
    st = delta
    st.sql("UPDATE policies SET mixed_recipients = 'defer' WHERE name = 'tagall'")
    wait_policy(st)
    try:
        # Clean: both recipients delivered, each in its own transaction and
        # under its own policy.
        subj = uniq("defer-clean")
        r = st.send(["u@delta.example", "u@beta.example"], subject=subj, body="hello\r\n",
                    port=relay)
        assert r.ok, r.transcript
        got = st.wait_sink(lambda m: subj in m.subject, count=2, timeout=60)
        assert sorted(tuple(m.rcpt_to) for m in got) == [("u@beta.example",), ("u@delta.example",)], got
        # Each under its own policy: Delta scans all, Beta only executables.
        status = {m.rcpt_to[0]: m.headers("X-Moat-Status") for m in got}
        assert status["u@delta.example"] == ["clean"], status
        assert status["u@beta.example"] == ["unscanned (no executable content); action=pass"], status
        assert re.search(r"to=<u@(beta|delta)\.example> deferred: mixed policies",
                         st.log("milter")), st.tails()

        # Infected: Delta's copy is tagged and delivered, Beta's rejected
        # (with one combined policy, both would have been rejected).
        subj = uniq("defer-virus")
        r = st.send(["u@delta.example", "u@beta.example"], subject=subj, body="virus\r\n",
                    attach=[("eicar.com", EICAR)], port=relay)
        assert r.ok, r.transcript
        [m] = st.wait_sink(lambda m: subj in m.subject and "u@delta.example" in m.rcpt_to,
                           timeout=60)
        assert m.rcpt_to == ["u@delta.example"] and m.subject.startswith("[VIRUS]"), m
        assert m.header("X-Moat-Status").startswith("infected (Eicar"), m.msg.items()
        # Beta's transaction is rejected: Postfix bounces it to the sender.
        bounce = st.wait_sink(lambda m: m.rcpt_to == ["sender@example.net"] and
                              subj.encode() in m.data, timeout=60)
        assert bounce
        assert not [m for m in st.sink_messages()
                    if subj in m.subject and "u@beta.example" in m.rcpt_to]
    finally:
        st.sql("UPDATE policies SET mixed_recipients = 'combine' WHERE name = 'tagall'")
        wait_policy(st)


def test_moatctl_sets_mixed_recipients(delta):
    st = delta
    r = st.moatctl("policy", "set", "tagall", "mixed_recipients", "defer")
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert st.sql("SELECT mixed_recipients FROM policies WHERE name = 'tagall'")[0][
        "mixed_recipients"] == "defer"
    r = st.moatctl("policy", "set", "tagall", "mixed_recipients", "maybe")
    assert r.returncode != 0 and "combine" in (r.stdout + r.stderr), (r.stdout, r.stderr)
    st.moatctl("policy", "set", "tagall", "mixed_recipients", "combine")
    wait_policy(st)
