# SPDX-License-Identifier: GPL-2.0-or-later
"""No mail lost: a bounded SMTP load through Postfix + moat-milter while
moat-milter is killed with SIGKILL and restarted.  Postfix runs with
milter_default_action = tempfail, so every message must end either in the
sink (accepted: 250) or refused with a code the client saw (4xx/5xx).

The client is Python's smtplib (one thread per session) rather than
smtp-source, because the accounting needs the reply to each message.
"""
import os
import signal
import smtplib
import threading
import time
import uuid

import pytest

from moatstack import wait_for

TOTAL = 200          # messages, bounded
SESSIONS = 4
KILL_AT = 60         # SIGKILL moat-milter after this many results
DEADLINE = 240       # seconds for the whole load


def test_kill9_milter_under_load_loses_nothing(st):
    run = uuid.uuid4().hex[:8]
    port = int(st.env["SMTP_PORT"])
    results = {}              # msgid -> ("accepted", qid) | ("refused", code, text)
    lock = threading.Lock()
    pending = list(range(TOTAL))
    t_end = time.monotonic() + DEADLINE

    def worker():
        s = None
        while time.monotonic() < t_end:
            with lock:
                if not pending:
                    break
                i = pending.pop(0)
            mid = "load-%s-%03d" % (run, i)
            body = ("From: <load@example.net>\r\nTo: <load@alpha.example>\r\n"
                    "Subject: %s\r\nMessage-ID: <%s@example.net>\r\n\r\n" % (mid, mid)
                    + ("line %d of a clean message\r\n" % i) * (20 + i % 200))
            # A dropped connection (no reply) is retried on a new one, as an
            # MTA would; a reply code is final for the test.
            for attempt in range(8):
                try:
                    if s is None:
                        s = smtplib.SMTP("127.0.0.1", port, timeout=60)
                        s.ehlo("load.example.net")
                    code, text = s.mail("load@example.net")
                    if code == 250:
                        code, text = s.rcpt("load@alpha.example")
                    if code != 250:
                        res = ("refused", code, text.decode())
                        s.rset()
                    else:
                        code, text = s.data(body.encode())
                        res = ("accepted", text.decode()) if code == 250 else \
                            ("refused", code, text.decode())
                    break
                except smtplib.SMTPResponseException as e:
                    res = ("refused", e.smtp_code, e.smtp_error.decode("utf-8", "replace"))
                    try:
                        s.rset()
                    except Exception:
                        s = None
                    break
                except (smtplib.SMTPException, OSError) as e:
                    res = ("lost-connection", str(e))
                    s = None
                    time.sleep(0.2)
            with lock:
                results[mid] = res
        if s is not None:
            try:
                s.quit()
            except Exception:
                pass

    threads = [threading.Thread(target=worker) for _ in range(SESSIONS)]
    for t in threads:
        t.start()
    wait_for(lambda: len(results) >= KILL_AT, timeout=120, what="first results")
    pid = st.pid("milter")
    os.kill(pid, signal.SIGKILL)
    killed_at = len(results)
    time.sleep(1)
    st.restart("milter")
    for t in threads:
        t.join(timeout=DEADLINE + 60)
    assert not any(t.is_alive() for t in threads)

    accepted = {m for m, r in results.items() if r[0] == "accepted"}
    refused = {m: r for m, r in results.items() if r[0] == "refused"}
    lost = {m: r for m, r in results.items() if r[0] == "lost-connection"}
    print("load: %d sent, %d accepted, %d refused (%s), %d lost connections, kill at %d" % (
        len(results), len(accepted), len(refused),
        sorted({"%s %s" % (r[1], r[2][:60]) for r in refused.values()}), len(lost), killed_at))
    assert len(results) == TOTAL, "only %d of %d messages attempted" % (len(results), TOTAL)
    assert not lost, "connections dropped without a reply: %r" % lost
    assert all(400 <= r[1] < 600 for r in refused.values()), refused
    assert accepted, "nothing accepted"

    def arrived():
        subjects = {m.subject for m in st.sink_messages()}
        return accepted <= subjects
    try:
        wait_for(arrived, timeout=90, interval=1, what="every accepted message in the sink")
    except AssertionError:
        subjects = {m.subject for m in st.sink_messages()}
        missing = sorted(accepted - subjects)
        pytest.fail("%d accepted messages missing from the sink: %s\n%s"
                    % (len(missing), missing[:20], st.tails()))
    # Nothing refused reached the sink (a refusal the client saw is final
    # for that attempt; the client may send again).
    subjects = {m.subject for m in st.sink_messages()}
    assert not (set(refused) & subjects), "refused messages were delivered anyway"
