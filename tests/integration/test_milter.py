# SPDX-License-Identifier: GPL-2.0-or-later
"""moat-milter through a real Postfix (ctl/moat-stack): policy, scanning,
actions, headers, live policy edits and signature reload.

The demo seed: Alpha (alpha.example, client 127.0.0.1) strict = scan all,
repair + quarantine, recipient notices as separate messages; Beta
(beta.example) executables only, reject; Gamma suspended; threat sources
192.0.2.66 and evil.example; 127.0.0.2 belongs to nobody.  Tests that must
not be "outbound for Alpha" send from 127.0.0.2.
"""
import email
import email.policy
import glob
import hashlib
import os
import threading
import time
import uuid


from moatstack import (CLAM_EXE, EICAR, TESTFILES, wait_for, wait_policy, OUTSIDE, uniq,
                       milter_line)


def sig_name(st):
    """The name of the stack's clam.exe hash signature (sigtool --md5)."""
    with open(os.path.join(st.env["SIGS_DIR"], "moat-test.hdb")) as f:
        return f.read().split(":")[2].strip()


def add_reject_all(st, address):
    """A policy that scans everything and rejects, for one recipient; the
    milter runs it on return."""
    st.sql("INSERT OR IGNORE INTO policies (name, scan_mode, on_infected, heuristics) "
           "VALUES ('test-reject-all', 'all', 'reject', 0)")
    st.sql("INSERT OR REPLACE INTO recipient_policies (address, policy_id) "
           "SELECT ?, id FROM policies WHERE name = 'test-reject-all'", (address,))
    wait_policy(st)


# ------------------------------------------------------------ clean mail

def test_clean_mail_byte_identical(st):
    subj = uniq("clean")
    body = ("Line one\r\n.leading dot line\r\n\r\n  indented\tand tabs\r\n"
            "trailing spaces   \r\n" + "x" * 900 + "\r\nend")
    data = ("From: Sender <sender@example.net>\r\nTo: <u1@alpha.example>\r\n"
            "Subject: %s\r\nX-Folded: first\r\n  second line\r\n"
            "Message-ID: <%s@example.net>\r\nDate: Mon, 23 Nov 2026 00:00:00 +0000\r\n"
            "X-Virus-Scanned: forged by the sender\r\n"
            "\r\n" % (subj, subj)) + body
    r = st.send("u1@alpha.example", data=data)
    assert r.ok, r.transcript
    [m] = st.wait_sink(lambda m: subj.encode() in m.data)
    head, _, got_body = m.data.partition(b"\r\n\r\n")
    # swaks ends the DATA with CRLF "." CRLF: the last line gains its CRLF.
    assert got_body == body.encode() + b"\r\n", "body changed"
    orig_lines = data.split("\r\n\r\n", 1)[0].encode()
    # Unfolded original header lines appear, in order, as one block, but
    # for the sender's X-Virus-Scanned: Moat's own headers that arrive with
    # a message are removed (issue 8, hole 7).
    orig_lines = orig_lines.replace(b"\r\nX-Virus-Scanned: forged by the sender", b"")
    assert orig_lines in head, "original header block not intact:\n%s" % head.decode()
    assert b"forged by the sender" not in head, head.decode()
    scanned = m.headers("X-Virus-Scanned")
    assert any(v.startswith("moat-milter ") and "ClamAV" in v for v in scanned), scanned
    assert m.header("X-Moat-Status") == "clean"
    line = milter_line(st, r.queue_id)
    assert "verdict=clean" in line and "subscriber=Alpha" in line and "size=" in line


# ------------------------------------------------------------ detections

def test_eicar_to_beta_rejected_naming_virus(st):
    r = st.send("u@beta.example", subject=uniq("eicar"), body="see attachment",
                attach=[("eicar.com", EICAR)], extra=OUTSIDE)
    assert r.queue_id is None
    last = r.last_reply()
    assert last.startswith("550") and "Eicar-Test-Signature" in last, r.transcript
    ev = wait_for(lambda: st.sql("SELECT detail_json FROM events WHERE kind = 'mail.infected' "
                                 "AND detail_json LIKE '%Eicar-Test-Signature%'"),
                  timeout=15, what="mail.infected event")
    assert "reject" in ev[-1]["detail_json"]


def test_clamav_testfiles_all_detected(st):
    addr = "av-test@beta.example"
    add_reject_all(st, addr)
    files = sorted(f for f in glob.glob(os.path.join(TESTFILES, "*")) if os.path.isfile(f))
    assert len(files) >= 40, files
    missed = []
    for f in files:
        with open(f, "rb") as fp:
            content = fp.read()
        r = st.send(addr, subject=uniq("tf"), body="file attached",
                    attach=[(os.path.basename(f), content)], extra=OUTSIDE)
        last = r.last_reply()
        if not last.startswith("550") or "Virus found" not in last:
            missed.append("%s: %s" % (os.path.basename(f), last))
    assert not missed, "%d of %d not rejected:\n%s" % (len(missed), len(files), "\n".join(missed))


def test_executables_policy_skips_plain_mail(st):
    subj = uniq("plain")
    r = st.send("u@beta.example", subject=subj, body="no attachments here", extra=OUTSIDE)
    assert r.ok, r.transcript
    [m] = st.wait_sink(lambda m: subj in m.subject)
    assert m.header("X-Moat-Status") == "unscanned (no executable content); action=pass"


# ------------------------------------------------------------ repair

def test_repair_alpha_keeps_clean_parts(st):
    subj = uniq("repair")
    clean_pdf = b"%PDF-1.4 harmless test document " + os.urandom(64).hex().encode()
    with open(CLAM_EXE, "rb") as f:
        exe = f.read()
    body = "Please find the files attached.\r\nRegards\r\n"
    r = st.send("u2@alpha.example", subject=subj, body=body,
                attach=[("report.pdf", clean_pdf, "application/pdf"), ("setup.exe", exe)],
                extra=OUTSIDE)
    assert r.ok, r.transcript
    msgs = st.wait_sink(lambda m: subj in m.subject and "u2@alpha.example" in m.rcpt_to
                        and m.header("X-Moat-Status", "").startswith("repaired"))
    m = msgs[0]
    parts = m.parts()
    names = [p[1] for p in parts]
    assert "report.pdf" in names, parts
    assert [p[2] for p in parts if p[1] == "report.pdf"] == [clean_pdf]
    assert b"Please find the files attached." in parts[0][2]
    assert not any(p[2] == exe for p in parts), "infected part still there"
    notice = [p for p in parts if p[0] == "text/plain" and b"removed" in p[2]]
    sig = sig_name(st)
    assert notice and sig.encode() in notice[0][2] and b"setup.exe" in notice[0][2], parts
    assert m.header("X-Moat-Status").startswith("repaired (%s" % sig)
    if st.quarantined_running:
        rows = wait_for(lambda: st.sql("SELECT status, viruses FROM quarantine WHERE queue_id = ?",
                                       (r.queue_id,)), timeout=10, what="quarantine row")
        assert rows[0]["status"] == "held" and sig in rows[0]["viruses"]
    # strict notifies the recipient and the admin with separate messages
    # (through the re-injection port), the sender not at all.
    notes = st.wait_sink(lambda m: m.header("X-Moat-Notice") == r.queue_id, count=2, timeout=30)
    by = {n.rcpt_to[0]: n for n in notes}
    assert sorted(by) == ["postmaster@alpha.example", "u2@alpha.example"], notes
    assert sig in by["u2@alpha.example"].text and "sender@example.net" in by["u2@alpha.example"].text
    assert sig in by["postmaster@alpha.example"].text and r.queue_id in by["postmaster@alpha.example"].text


# ------------------------------------------------------------ who is served

def test_suspended_recipient_refused_other_accepted(st):
    subj = uniq("susp")
    r = st.send(["u@gamma.example", "u3@alpha.example"], subject=subj, body="hi", extra=OUTSIDE)
    assert r.ok, r.transcript
    assert any(x.startswith("550 5.7.1") and "suspended" in x for x in r.replies), r.replies
    [m] = st.wait_sink(lambda m: subj in m.subject)
    assert m.rcpt_to == ["u3@alpha.example"]


def test_unserved_refused(st):
    r = st.send("someone@example.org", subject=uniq("unserved"), body="hi", extra=OUTSIDE)
    assert r.queue_id is None
    assert any(x.startswith("550 5.7.1") and "relay not permitted" in x for x in r.replies), r.replies


def test_outbound_by_client_address_served(st):
    subj = uniq("outbound")
    r = st.send("someone@example.org", subject=subj, body="hi")     # from 127.0.0.1 = Alpha
    assert r.ok, r.transcript
    [m] = st.wait_sink(lambda m: subj in m.subject)
    assert m.header("X-Moat-Status") == "clean"


def test_threat_source_sender_domain_refused(st):
    r = st.send("u@alpha.example", from_="spam@mx.evil.example", subject=uniq("threat"),
                body="hi", extra=OUTSIDE)
    assert r.queue_id is None
    assert any(x.startswith("550 5.7.1") and "threat source" in x for x in r.replies), r.replies
    wait_for(lambda: st.sql("SELECT 1 FROM events WHERE kind = 'mail.threat_source' "
                            "AND detail_json LIKE '%evil.example%'"), 15, what="threat event")


def test_threat_source_helo_refused(st):
    r = st.send("u@alpha.example", helo="bad.evil.example", subject=uniq("helo"), body="x",
                extra=OUTSIDE)
    assert r.queue_id is None and any("threat source" in x for x in r.replies), r.replies


# ------------------------------------------------------------ live changes

def test_operator_policy_edit_without_restart(st):
    pid = st.pid("milter")
    st.sql("UPDATE policies SET scan_mode = 'none' WHERE name = 'executables-reject'")
    try:
        def probe():
            subj = uniq("edit")
            r = st.send("u4@beta.example", subject=subj, body="x",
                        attach=[("eicar.com", EICAR)], extra=OUTSIDE)
            return r if r.ok else None
        t0 = time.monotonic()
        r = wait_for(probe, timeout=15, interval=0.5, what="scan_mode none applied")
        assert time.monotonic() - t0 < 10
        [m] = st.wait_sink(lambda m: "u4@beta.example" in m.rcpt_to and
                           m.header("X-Moat-Status", "").startswith("unscanned (policy"))
    finally:
        st.sql("UPDATE policies SET scan_mode = 'executables' WHERE name = 'executables-reject'")
    r = wait_for(lambda: (lambda x: x if x.last_reply().startswith("550") else None)(
        st.send("u4@beta.example", subject=uniq("edit2"), body="x",
                attach=[("eicar.com", EICAR)], extra=OUTSIDE)), timeout=15, interval=0.5,
        what="policy restored")
    assert st.pid("milter") == pid, "milter restarted"


def test_signature_reload_without_refusals(st):
    payload = ("moat reload test payload " + uuid.uuid4().hex).encode()
    signame = "Moat.Test.Reload-" + uuid.uuid4().hex[:6]
    r = st.send("u5@beta.example", subject=uniq("before"), body="x",
                attach=[("tool.exe", payload)], extra=OUTSIDE)
    assert r.ok, "payload detected before its signature exists: " + r.last_reply()
    pid = st.pid("milter")
    stop = threading.Event()
    results = []

    def background():
        for i in range(200):                     # bounded in count ...
            if stop.is_set():
                break
            x = st.send("u6@alpha.example", subject=uniq("bg"), body="clean %d" % i)
            results.append(x)
    t = threading.Thread(target=background)
    t.start()
    try:
        time.sleep(1)
        start = len(st.log("milter"))
        hdb = os.path.join(st.env["SIGS_DIR"], "reload-test.hdb")
        with open(hdb + ".tmp", "w") as f:
            f.write("%s:%d:%s\n" % (hashlib.md5(payload).hexdigest(), len(payload), signame))
        os.chmod(hdb + ".tmp", 0o644)
        os.rename(hdb + ".tmp", hdb)
        st.wait_log("milter", r"signatures reloaded", timeout=30, start=start)
        time.sleep(1)
    finally:
        stop.set()
        t.join(timeout=120)                      # ... and in time
    assert not t.is_alive()
    refused = [x for x in results if not x.ok]
    assert results and not refused, "refused during reload: %r" % refused
    r = st.send("u5@beta.example", subject=uniq("after"), body="x",
                attach=[("tool.exe", payload)], extra=OUTSIDE)
    assert r.last_reply().startswith("550") and signame in r.last_reply(), r.transcript
    assert st.pid("milter") == pid
    os.unlink(hdb)


def test_usage_counters_flushed(st):
    # usage_flush defaults to 60 s; TERM flushes too: restart the milter.
    st.restart("milter")
    rows = wait_for(lambda: st.sql("SELECT s.name, u.direction, u.messages, u.rejected, u.infected "
                                   "FROM usage u JOIN subscribers s ON s.id = u.subscriber_id"),
                    timeout=15, what="usage rows")
    by = {(x["name"], x["direction"]): x for x in rows}
    assert ("Alpha", "in") in by and by[("Alpha", "in")]["messages"] >= 3, rows
    assert ("Beta", "in") in by and by[("Beta", "in")]["rejected"] >= 1, rows
    assert ("Alpha", "out") in by, rows
