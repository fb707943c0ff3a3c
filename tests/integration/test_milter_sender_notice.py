# SPDX-License-Identifier: GPL-2.0-or-later
"""Sender notices through a real Postfix: a policy with notify_sender sends
the sender a separate notice over the re-injection port, except for virus
families known to forge senders (skip_forged_senders), to avoid backscatter.
"""
import os
import time
import uuid


from moatstack import EICAR, wait_for, wait_policy, OUTSIDE

RCPT = "ns@beta.example"
FORGED_TEXT = b"MOAT-FORGED-SENDER-FAMILY-TEST-" + uuid.uuid4().hex.encode()


def test_sender_notice_skipped_for_forging_families(st):
    # A body signature named like a mass-mailer (Worm.Mydoom...), added to
    # the live signature directory: the milter reloads it by itself.
    # Written aside and renamed, so no poll sees it empty.
    ndb = os.path.join(st.env["SIGS_DIR"], "forged.ndb")
    with open(ndb + ".tmp", "w") as f:
        f.write("Worm.Mydoom.MoatTest:0:*:%s\n" % FORGED_TEXT.hex())
    os.rename(ndb + ".tmp", ndb)
    st.moatctl("policy", "add", "notify-sender", "--on_infected", "reject",
               "--notify_sender", "yes", "--skip_forged_senders", "yes",
               "--notify_recipients", "no", "--scan_mode", "all", check=True)
    st.moatctl("policy", "recipient", RCPT, "notify-sender", check=True)
    wait_policy(st)

    # The forged-family message: rejected naming the new signature (retried
    # until the reload has happened), and no notice to its sender.
    def forged_rejected():
        r = st.send(RCPT, from_="forged@example.net", subject="forged " + uuid.uuid4().hex,
                    body="x", attach=[("mail.scr", FORGED_TEXT)], extra=OUTSIDE)
        return "Worm.Mydoom.MoatTest" in r.transcript and r.last_reply().startswith("550")
    wait_for(forged_rejected, 40, 2, what="rejection naming Worm.Mydoom.MoatTest")

    # Control: EICAR is not a forging family, so its sender is told.
    r = st.send(RCPT, from_="real@example.net", subject="real " + uuid.uuid4().hex,
                body="x", attach=[("eicar.com", EICAR)], extra=OUTSIDE)
    assert r.last_reply().startswith("550"), r.transcript
    [notice] = st.wait_sink(lambda m: m.rcpt_to == ["real@example.net"], timeout=30)
    assert "Eicar" in notice.text or b"Eicar" in notice.data, notice.data[:500]
    assert RCPT in notice.subject, notice.subject

    time.sleep(3)   # the forged notices, had any been queued, were queued first
    forged = [m for m in st.sink_messages() if m.rcpt_to == ["forged@example.net"]]
    assert not forged, "sender of a forging family was notified: %r" % forged[:2]
