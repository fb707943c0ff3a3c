# SPDX-License-Identifier: GPL-2.0-or-later
"""Crash safety of the quarantine through the whole stack (issue 4 "Proof"):
kill -9 moat-quarantined during a bounded stream of infected mail that the
policy quarantines.  Afterwards every message Postfix accepted (250) is held,
intact (the spool file hashes to the indexed sha256), and every message the
gateway could not store was refused with a 4xx the client saw, so the client
retried it until it was stored.  Nothing lost, nothing half-written.
"""
import hashlib
import os
import re
import signal
import smtplib
import threading
import time
import uuid

import pytest

from moatstack import EICAR, wait_for, wait_policy

TOTAL = 60            # messages in the stream
KILL_AFTER = 12       # acknowledged messages before the kill
MAX_TRIES = 30        # per message, as a patient MTA would (bounded)
RCPT = "crash@alpha.example"


@pytest.fixture(scope="module")
def st(stack):
    if not (stack.milter_running and stack.quarantined_running):
        pytest.fail("moat-milter and moat-quarantined must run:\n" + stack.tails())
    return stack


def infected_message(subject):
    boundary = "b-" + uuid.uuid4().hex
    return ("From: sender@example.net\r\nTo: %s\r\nSubject: %s\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n"
            "--%s\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n"
            "--%s\r\nContent-Type: application/octet-stream\r\n"
            "Content-Disposition: attachment; filename=\"eicar.com\"\r\n\r\n%s\r\n"
            "--%s--\r\n" % (RCPT, subject, boundary, boundary, boundary,
                            EICAR.decode() if isinstance(EICAR, bytes) else EICAR,
                            boundary)).encode()


def send_once(port, data):
    """(code, queue id or None) of one SMTP transaction from an outside client."""
    try:
        with smtplib.SMTP("127.0.0.1", port, source_address=("127.0.0.2", 0),
                          timeout=60) as s:
            s.ehlo("client.example.net")
            s.mail("sender@example.net")
            code, _ = s.rcpt(RCPT)
            if code != 250:
                return code, None
            code, reply = s.data(data)
            m = re.search(rb"queued as ([0-9A-Za-z]+)", reply)
            return code, m.group(1).decode() if m else None
    except smtplib.SMTPResponseException as e:
        return e.smtp_code, None
    except (OSError, smtplib.SMTPException):
        return 0, None


def test_kill9_quarantined_during_stream(st):
    st.moatctl("policy", "add", "crash-quarantine", "--on_infected", "quarantine",
               "--quarantine", "yes", "--notify_recipients", "no", check=True)
    st.moatctl("policy", "recipient", RCPT, "crash-quarantine", check=True)
    wait_policy(st)

    port = int(st.env["SMTP_PORT"])
    results = {}            # subject -> list of (code, qid) attempts
    acked = threading.Semaphore(0)
    deadline = time.time() + 600

    def stream():
        for i in range(TOTAL):
            subject = "crash-%03d-%s" % (i, uuid.uuid4().hex[:8])
            data = infected_message(subject)
            tries = results.setdefault(subject, [])
            while len(tries) < MAX_TRIES and time.time() < deadline:
                code, qid = send_once(port, data)
                tries.append((code, qid))
                if code == 250:
                    acked.release()
                    break
                time.sleep(0.5)       # a retrying client, bounded

    t = threading.Thread(target=stream)
    t.start()
    for _ in range(KILL_AFTER):
        assert acked.acquire(timeout=120), "stream stalled before the kill"
    pid = st.pid("quarantined")
    os.kill(pid, signal.SIGKILL)
    time.sleep(2)                      # messages arrive while it is down
    st.restart("quarantined")
    t.join(timeout=660)
    assert not t.is_alive(), "stream did not finish"

    tempfails = sum(1 for tries in results.values() for c, _ in tries if 400 <= c < 500)
    others = [(s, tries) for s, tries in results.items()
              if any(c not in (250,) and not 400 <= c < 500 for c, _ in tries)]
    unaccepted = [s for s, tries in results.items() if not tries or tries[-1][0] != 250]
    assert not others, "answers other than 250/4xx: %r" % others[:5]
    assert not unaccepted, "never accepted after retries: %r" % unaccepted[:5]
    assert tempfails > 0, "the kill window produced no tempfail: the test proved nothing"

    spool = os.path.join(st.dir, "spool", "quarantine")
    accepted = {tries[-1][1]: s for s, tries in results.items()}
    assert None not in accepted, "a 250 without a queue id"
    for qid, subject in accepted.items():
        rows = wait_for(lambda: st.sql("SELECT * FROM quarantine WHERE queue_id = ?", (qid,)),
                        30, what="quarantine row for %s" % qid)
        assert len(rows) == 1, (qid, rows)
        row = rows[0]
        assert row["status"] == "held", row
        path = os.path.join(spool, row["path"])
        with open(path, "rb") as f:
            data = f.read()
        assert len(data) == row["size"], (qid, len(data), row["size"])
        assert hashlib.sha256(data).hexdigest() == row["sha256"], "spool file of %s corrupt" % qid
        assert subject.encode() in data, "item %s holds another message" % qid
    # Rows beyond the accepted ones can only come from attempts that were
    # stored but not acknowledged before the kill (the client retried them).
    total_rows = st.sql("SELECT count(*) AS n FROM quarantine WHERE recipients LIKE ?",
                        ("%" + RCPT + "%",))[0]["n"]
    assert len(accepted) <= total_rows <= len(accepted) + tempfails, (total_rows, len(accepted))
    # Quarantine-only: nothing of the stream may reach the intranet.
    time.sleep(2)
    leaked = [m for m in st.sink_messages() if m.subject.startswith("crash-")]
    assert not leaked, "quarantined mail was delivered: %r" % leaked[:3]
