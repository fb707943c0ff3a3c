# SPDX-License-Identifier: GPL-2.0-or-later
"""moat-milter actions and edge cases through a real Postfix: notification
styles in the delivered copy, quarantine-only, unscannable content, content
classification inside archives, bad input, HUP and low-memory reloads,
unserved pass and threat tagging (milter.* settings changed with a restart).
"""
import hashlib
import io
import os
import re
import signal
import subprocess
import threading
import time
import uuid
import zipfile

import pytest

from moatstack import (CLAM_EXE, EICAR, wait_for, OUTSIDE, uniq, milter_line, set_policy,
                       encrypted_zip)


def test_notify_append_style(st):
    set_policy(st, "strict", notify_style="append", quarantine=0, notify_admin=None)
    subj = uniq("append")
    r = st.send("a1@alpha.example", subject=subj, body="hello there\r\n",
                attach=[("setup.exe", open(CLAM_EXE, "rb").read())], extra=OUTSIDE)
    assert r.ok, r.transcript
    [m] = st.wait_sink(lambda m: subj in m.subject)
    texts = b"\n".join(p[2] for p in m.parts() if p[0] == "text/plain")
    assert b"hello there" in texts
    assert b"A message from" in texts and r.queue_id.encode() in texts, m.parts()
    assert m.header("X-Moat-Status").startswith("repaired")
    assert not st.sql("SELECT 1 FROM quarantine WHERE queue_id = ?", (r.queue_id,))


def test_notify_attachment_style(st):
    set_policy(st, "strict", notify_style="attachment", quarantine=0)
    subj = uniq("attach")
    r = st.send("a2@alpha.example", subject=subj, body="hello\r\n",
                attach=[("setup.exe", open(CLAM_EXE, "rb").read())], extra=OUTSIDE)
    assert r.ok, r.transcript
    [m] = st.wait_sink(lambda m: subj in m.subject)
    notes = [p for p in m.parts() if p[1] == "virus-notice.txt"]
    assert notes and r.queue_id.encode() in notes[0][2], m.parts()


def test_quarantine_only_discards_after_store(st):
    if not st.quarantined_running:
        pytest.skip("moat-quarantined is not running in this stack")
    set_policy(st, "strict", on_infected="quarantine", notify_recipients=0)
    try:
        subj = uniq("quar")
        r = st.send("a3@alpha.example", subject=subj, body="x",
                    attach=[("eicar.com", EICAR)], extra=OUTSIDE)
        assert r.ok, r.transcript          # accepted, then discarded
        rows = wait_for(lambda: st.sql("SELECT id, status, size FROM quarantine WHERE queue_id = ?",
                                       (r.queue_id,)), 10, what="quarantine row")
        assert rows[0]["status"] == "held" and rows[0]["size"] > 0
        assert "action=quarantine" in milter_line(st, r.queue_id)
        time.sleep(2)
        assert not [m for m in st.sink_messages() if subj in m.subject], "quarantined mail delivered"
        # Release: the original, byte for byte as the milter received it,
        # goes out through the re-injection port (no milter) to the sink.
        code, body = st.quarantine_api("POST", "/v1/items/%d/release" % rows[0]["id"])
        assert code == 200, (code, body)
        [m] = st.wait_sink(lambda m: subj in m.subject)
        assert m.rcpt_to == ["a3@alpha.example"]
        assert b"eicar.com" in m.data and m.header("X-Moat-Status") is None
    finally:
        set_policy(st, "strict", on_infected="repair", notify_recipients=1, notify_style="message",
                   quarantine=1)


def test_quarantine_down_tempfails(st):
    if not st.quarantined_running:
        pytest.skip("moat-quarantined is not running in this stack")
    sock = st.env["QUARANTINE_SOCKET"]
    os.rename(sock, sock + ".away")    # the milter cannot connect
    try:
        r = st.send("a4@alpha.example", subject=uniq("qdown"), body="x",
                    attach=[("eicar.com", EICAR)], extra=OUTSIDE)
        assert r.queue_id is None
        assert r.last_reply().startswith("451 4.3.0"), r.transcript
    finally:
        os.rename(sock + ".away", sock)


def test_unscannable_encrypted_tempfails_by_default(st):
    r = st.send("a5@alpha.example", subject=uniq("enc"), body="x",
                attach=[("e.zip", encrypted_zip(), "application/zip")], extra=OUTSIDE)
    assert r.queue_id is None
    last = r.last_reply()
    assert last.startswith("451 4.7.0") and "Encrypted" in last, r.transcript


def test_unscannable_pass_keeps_a_status_header(st):
    set_policy(st, "strict", on_unscannable="pass")
    try:
        subj = uniq("encpass")
        r = st.send("a6@alpha.example", subject=subj, body="x",
                    attach=[("e.zip", encrypted_zip(), "application/zip")], extra=OUTSIDE)
        assert r.ok, r.transcript
        [m] = st.wait_sink(lambda m: subj in m.subject)
        assert re.match(r"unscanned \(Heuristics\.Encrypted.*\); action=pass",
                        m.header("X-Moat-Status")), m.header("X-Moat-Status")
    finally:
        set_policy(st, "strict", on_unscannable="tempfail")


def test_executables_found_inside_archives(st):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.write("/bin/true", "tools/true")            # an ELF, no telling name
    for i in range(2):        # the same archive again: no cache hides its members
        subj = uniq("elfzip")
        r = st.send("b1@beta.example", subject=subj, body="x",
                    attach=[("tools.zip", buf.getvalue(), "application/zip")], extra=OUTSIDE)
        assert r.ok, r.transcript
        [m] = st.wait_sink(lambda m: subj in m.subject)
        assert m.header("X-Moat-Status") == "clean", i      # scanned, not skipped
    subj = uniq("txtzip")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("notes.txt", "just text\n")
    r = st.send("b1@beta.example", subject=subj, body="x",
                attach=[("notes.zip", buf.getvalue(), "application/zip")], extra=OUTSIDE)
    assert r.ok, r.transcript
    [m] = st.wait_sink(lambda m: subj in m.subject)
    assert m.header("X-Moat-Status") == "unscanned (no executable content); action=pass"


def test_bad_input_never_crashes(st):
    pid = st.pid("milter")
    eicar_b64 = "WDVPIVAlQEFQWzRcUFpYNTQoUF4pN0NDKTd9JEVJQ0FSLVNUQU5EQVJELUFOVElWSVJVUy1URVNULUZJTEUhJEgrSCo="
    many = "".join("--b\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % i for i in range(10000))
    cases = {
        "broken-base64": "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
                         "--b\r\nContent-Transfer-Encoding: base64\r\n\r\n@@@!!!====\r\n--b--\r\n",
        "no-closing-boundary": "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
                               "--b\r\nContent-Type: text/plain\r\n\r\nnever closed\r\n",
        "nested-missing": "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n"
                          "--a\r\nContent-Type: multipart/mixed; boundary=\r\n\r\n--\r\n--a--\r\n",
        "10000-parts-infected": "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
                                + many + "--b\r\nContent-Type: application/octet-stream; name=e.com\r\n"
                                "Content-Transfer-Encoding: base64\r\n\r\n" + eicar_b64 + "\r\n--b--\r\n",
        "huge-header": "X-Huge: " + "h" * 60000 + "\r\n\r\nbody\r\n",
        "nul-header": "X-Nul: a\0b\r\n\r\nbody\0with nul\r\n",
    }
    for name, rest in cases.items():
        subj = uniq("bad-" + name)
        data = "From: <s@example.net>\r\nTo: <c@alpha.example>\r\nSubject: %s\r\n" % subj + rest
        r = st.send("c@alpha.example", data=data, extra=OUTSIDE, timeout=120)
        codes = re.findall(r"(?m)^\s*<[~*]*\s+([245]\d\d) ", r.transcript)
        code = "250" if r.queue_id else (codes[-2] if len(codes) > 1 and codes[-1] == "221"
                                         else (codes[-1] if codes else ""))
        assert code in ("250", "451", "550", "554"), (name, r.transcript[-2000:])
        if r.queue_id:
            milter_line(st, r.queue_id, timeout=60)
        assert st.pid("milter") == pid and st.running("milter"), "milter died on " + name


def test_hup_reloads_signatures(st):
    start = len(st.log("milter"))
    os.kill(st.pid("milter"), signal.SIGHUP)
    st.wait_log("milter", r"signatures reloaded \(SIGHUP", timeout=30, start=start)
    assert st.running("milter")


def test_lowmem_reload_detects_new_signature_without_refusals(st):
    st.reconfigure("milter", "reload_mode", "lowmem")
    payload = ("lowmem payload " + uuid.uuid4().hex).encode()
    signame = "Moat.Test.Lowmem-" + uuid.uuid4().hex[:6]
    results, stop = [], threading.Event()

    def background():
        for i in range(100):
            if stop.is_set():
                break
            results.append(st.send("d@alpha.example", subject=uniq("lm"), body="clean %d" % i))
    t = threading.Thread(target=background)
    t.start()
    try:
        time.sleep(0.5)
        start = len(st.log("milter"))
        hdb = os.path.join(st.env["SIGS_DIR"], "lowmem-test.hdb")
        # Written aside and renamed: the milter's poll must never see it
        # empty (cl_statchkdir compares whole-second mtimes).
        with open(hdb + ".tmp", "w") as f:
            f.write("%s:%d:%s\n" % (hashlib.md5(payload).hexdigest(), len(payload), signame))
        os.chmod(hdb + ".tmp", 0o644)
        os.rename(hdb + ".tmp", hdb)
        st.wait_log("milter", r"signatures reloaded .*lowmem mode", timeout=30, start=start)
        time.sleep(1)
    finally:
        stop.set()
        t.join(timeout=120)
    assert results and not [x for x in results if not x.ok], [x for x in results if not x.ok]
    r = st.send("b2@beta.example", subject=uniq("lm-after"), body="x",
                attach=[("t.exe", payload)], extra=OUTSIDE)
    assert r.last_reply().startswith("550") and signame in r.last_reply(), r.transcript
    os.unlink(hdb)


def test_unserved_pass_when_configured(st):
    st.reconfigure("milter", "unserved_action", "pass")
    try:
        subj = uniq("unserved-pass")
        r = st.send("x@example.org", subject=subj, body="x", extra=OUTSIDE)
        assert r.ok, r.transcript
        [m] = st.wait_sink(lambda m: subj in m.subject)
        assert m.header("X-Moat-Status") is None and m.header("X-Virus-Scanned") is None
    finally:
        st.reconfigure("milter", "unserved_action", "reject")


def test_threat_tag_when_configured(st):
    st.reconfigure("milter", "threat_action", "tag")
    try:
        subj = uniq("tag")
        r = st.send("e@alpha.example", from_="x@evil.example", subject=subj, body="x",
                    extra=OUTSIDE)
        assert r.ok, r.transcript
        [m] = st.wait_sink(lambda m: subj in m.subject)
        assert "evil.example" in (m.header("X-Moat-Threat") or ""), m.data[:600]
    finally:
        st.reconfigure("milter", "threat_action", "reject")


def test_check_config(st):
    exe = os.path.join(st.env["BIN_DIR"], "milter", "moat-milter")
    r = subprocess.run([exe, "-n", "-c", st.env["CONF"]], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    assert r.returncode == 0 and "signature_check = 5;" in r.stdout, r.stdout + r.stderr
    bad = os.path.join(st.dir, "bad.conf")
    with open(bad, "w") as f:
        f.write('milter = { reload_mode = "sometimes"; };\n')
    r = subprocess.run([exe, "-n", "-c", bad], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    assert r.returncode == 1 and "reload_mode" in r.stderr, r.stderr


def test_over_policy_size_and_archive_bomb_are_unscannable(st):
    set_policy(st, "strict", max_scan_bytes=4000)
    try:
        r = st.send("f@alpha.example", subject=uniq("big"), body="y" * 8000, extra=OUTSIDE)
        assert r.queue_id is None
        assert r.last_reply().startswith("451 4.7.0") and "over size limit" in r.last_reply(), \
            r.transcript
    finally:
        set_policy(st, "strict", max_scan_bytes=26214400)
    # 120 MB of zeros, ~120 KB compressed: over max_scansize (100M).
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("zeros.bin", b"\0" * (120 << 20))
    r = st.send("f@alpha.example", subject=uniq("bomb"), body="x",
                attach=[("bomb.zip", buf.getvalue(), "application/zip")], extra=OUTSIDE)
    assert r.queue_id is None
    assert r.last_reply().startswith("451 4.7.0") and "Limits" in r.last_reply(), r.transcript
    assert st.running("milter")
