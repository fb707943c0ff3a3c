# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 8, hole 1: MIME structures that the walker (milter/milter_parts.c)
read otherwise than Python's email, GMime or libclamav, each carrying a
virus through a real Postfix to a served recipient whose policy rejects
or quarantines.  None may reach the sink.

  digest           a multipart/digest part without Content-Type is a
                   message/rfc822 (RFC 2046 5.1.5): the embedded message's
                   base64 attachment must be decoded and scanned;
  trailing-space   boundary="ab ": RFC 2046 forbids it, readers differ on
                   whether "--ab" is a delimiter;
  backslash        boundary="a\\b": unescaped by RFC 822 quoting, literal
                   for libclamav and Python's compat32.
Each failed on the walker before this change (verdict=clean parse=walk,
delivered).  A fourth case tests/differential found, a delimiter after a
bare CR (a line break to Python only), is not one through this path: the
CR reaches the milter and the recipient as a space, and every reader then
agrees; milter_parts_test covers it.
"""
import base64
import os

import pytest

from moatstack import CLAM_EXE, EICAR, OUTSIDE, milter_line, uniq, wait_for, wait_policy

ATTACH = 'Content-Type: application/octet-stream; name="%s"\r\nContent-Transfer-Encoding: base64\r\n\r\n'


def b64(data):
    return base64.encodebytes(data).decode().replace("\n", "\r\n")


def head(subject, to, ctype):
    return ("From: <sender@example.net>\r\nTo: <%s>\r\nSubject: %s\r\nMIME-Version: 1.0\r\n"
            "Content-Type: %s\r\n\r\n" % (to, subject, ctype))


def digest(subject, to, name, payload):
    return (head(subject, to, 'multipart/digest; boundary="d"') +
            "--d\r\n\r\nX-Anything: y\r\nContent-Type: multipart/mixed; boundary=\"in\"\r\n\r\n"
            "--in\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
            "--in\r\n" + ATTACH % name + b64(payload) + "--in--\r\n--d--\r\n")


def trailing_space(subject, to, name, payload):
    return (head(subject, to, 'multipart/mixed; boundary="ab "') +
            "--ab \r\nContent-Type: text/plain\r\n\r\nhello\r\n"
            "--ab\r\n" + ATTACH % name + b64(payload) + "--ab --\r\n")


def backslash(subject, to, name, payload):
    return (head(subject, to, 'multipart/mixed; boundary="a\\b"') +
            "--ab\r\nContent-Type: text/plain\r\n\r\n"
            "--a\\b\r\n" + ATTACH % name + b64(payload) + "--a\\b--\r\n--ab--\r\n")


CASES = {"digest": digest, "trailing-space": trailing_space, "backslash": backslash}
PAYLOADS = {"eicar": ("eicar.com", EICAR), "clam.exe": ("clam.exe", None)}


def payload(kind):
    name, data = PAYLOADS[kind]
    return name, data if data is not None else open(CLAM_EXE, "rb").read()


@pytest.fixture(scope="module")
def addrs(st):
    """Two recipients: one whose policy rejects infected mail, one whose
    policy quarantines it."""
    for name, action in (("test-hmime-reject", "reject"), ("test-hmime-quar", "quarantine")):
        st.sql("INSERT OR IGNORE INTO policies (name, scan_mode, on_infected, heuristics, "
               "notify_recipients) VALUES (?, 'all', ?, 1, 0)", (name, action))
    st.sql("INSERT OR REPLACE INTO recipient_policies (address, policy_id) "
           "SELECT 'hmime-r@beta.example', id FROM policies WHERE name = 'test-hmime-reject'")
    st.sql("INSERT OR REPLACE INTO recipient_policies (address, policy_id) "
           "SELECT 'hmime-q@beta.example', id FROM policies WHERE name = 'test-hmime-quar'")
    wait_policy(st)
    return {"reject": "hmime-r@beta.example", "quarantine": "hmime-q@beta.example"}


def assert_not_delivered(st, subj):
    st.flush()
    assert not [m for m in st.sink_messages() if subj in m.subject], "infected mail delivered"


@pytest.mark.parametrize("kind", sorted(PAYLOADS))
@pytest.mark.parametrize("case", sorted(CASES))
def test_rejected(st, addrs, case, kind):
    subj = uniq("hmime-%s-%s" % (case, kind))
    name, data = payload(kind)
    start = len(st.log("milter"))
    r = st.send(addrs["reject"], extra=OUTSIDE, data=CASES[case](subj, addrs["reject"], name, data))
    assert r.queue_id is None and r.last_reply().startswith("550 5.7.1"), r.transcript
    line = st.wait_log("milter", r"(?m)^.*to=<hmime-r@beta\.example>.*verdict=infected.*$",
                       start=start).group(0)
    # The digest is walked now; the other three go to libclamav's parser.
    want = " parse=walk " if case == "digest" else " parse=libclamav "
    assert want in line, line
    assert_not_delivered(st, subj)


@pytest.mark.parametrize("case", sorted(CASES))
def test_quarantined(st, addrs, case):
    if not st.quarantined_running:
        pytest.skip("moat-quarantined is not running in this stack")
    subj = uniq("hmime-q-%s" % case)
    name, data = payload("eicar")
    r = st.send(addrs["quarantine"], extra=OUTSIDE,
                data=CASES[case](subj, addrs["quarantine"], name, data))
    assert r.ok, r.transcript
    line = milter_line(st, r.queue_id)
    assert "verdict=infected" in line and "action=quarantine" in line, line
    wait_for(lambda: st.sql("SELECT id FROM quarantine WHERE queue_id = ?", (r.queue_id,)), 10,
             what="quarantine row")
    assert_not_delivered(st, subj)
