# SPDX-License-Identifier: GPL-2.0-or-later
"""moat-milter's in-memory MIME walk (milter/milter_parts.c) through a real
Postfix: which messages it walks, which it leaves to libclamav's mail parser
(the log line says parse=walk or parse=libclamav), and that neither way lets
a virus through: the raw pass still matches mail-target signatures, a
fallback still finds uuencoded files, an unscannable part does not hide a
virus in another part.
"""
import base64
import os
import re

import pytest

from moatstack import (CLAM_EXE, EICAR, TESTFILES, OUTSIDE, uniq, milter_line, encrypted_zip,
                       wait_policy)


@pytest.fixture(scope="module")
def walk_addr(st):
    """A recipient whose policy scans everything with heuristics and
    rejects infected mail."""
    st.sql("INSERT OR IGNORE INTO policies (name, scan_mode, on_infected, heuristics) "
           "VALUES ('test-walk', 'all', 'reject', 1)")
    st.sql("INSERT OR REPLACE INTO recipient_policies (address, policy_id) "
           "SELECT 'walk@beta.example', id FROM policies WHERE name = 'test-walk'")
    wait_policy(st)
    return "walk@beta.example"


def mime(subject, parts, boundary="=_moat_b1", extra_headers=""):
    """A multipart/mixed message from (headers, body) pairs."""
    out = ("From: <sender@example.net>\r\nTo: <walk@beta.example>\r\nSubject: %s\r\n"
           "MIME-Version: 1.0\r\n%sContent-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n"
           "This is a multi-part message in MIME format.\r\n" % (subject, extra_headers, boundary))
    for hdrs, body in parts:
        out += "--%s\r\n%s\r\n%s\r\n" % (boundary, hdrs, body)
    return out + "--%s--\r\n" % boundary


def b64(data):
    return base64.encodebytes(data).decode().replace("\n", "\r\n")


def test_clean_multipart_is_walked_and_delivered_intact(st, walk_addr):
    subj = uniq("walk-clean")
    body = mime(subj, [
        ("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n",
         "caf=C3=A9 menu=\r\n today\r\n"),
        ("Content-Type: application/octet-stream; name=\"data.bin\"\r\n"
         "Content-Transfer-Encoding: base64\r\n", b64(os.urandom(30000))),
    ])
    r = st.send(walk_addr, data=body, extra=OUTSIDE)
    assert r.ok, r.transcript
    line = milter_line(st, r.queue_id)
    assert "verdict=clean" in line and " parse=walk " in line, line
    [m] = st.wait_sink(lambda m: subj.encode() in m.data)
    # swaks ends DATA with CRLF "." CRLF: the body gains one CRLF.
    assert m.data.split(b"\r\n\r\n", 1)[1] == body.split("\r\n\r\n", 1)[1].encode() + b"\r\n"


def test_virus_in_a_base64_part_is_found_by_the_walk(st, walk_addr):
    start = len(st.log("milter"))
    r = st.send(walk_addr, extra=OUTSIDE, data=mime(uniq("walk-exe"), [
        ("Content-Type: text/plain\r\n", "see attached\r\n"),
        ("Content-Type: application/zip; name=\"clam.zip\"\r\nContent-Transfer-Encoding: base64\r\n",
         b64(open(os.path.join(TESTFILES, "clam.zip"), "rb").read())),
    ]))
    assert r.queue_id is None and r.last_reply().startswith("550 5.7.1"), r.transcript
    line = st.wait_log("milter", r"(?m)^.*verdict=infected.*$", start=start).group(0)
    assert "to=<walk@beta.example>" in line and " parse=walk " in line, line


def test_uuencoded_virus_goes_to_libclamav_and_is_found(st, walk_addr):
    # clam.exe uuencoded in a plain-text body: only libclamav's mail parser
    # decodes uuencode, so the walker must hand the message over.
    uu = open(os.path.join(TESTFILES, "clam.exe.mbox.uu"), "rb").read().decode("latin-1")
    # (the file's last line, "end", is cut short: the block ends at "`")
    block = uu[uu.index("begin 644"):uu.rindex("\n`\n") + 3] + "end\n"
    subj = uniq("walk-uu")
    data = ("From: <sender@example.net>\r\nTo: <walk@beta.example>\r\nSubject: %s\r\n\r\n"
            "the tool, uuencoded:\r\n\r\n%s\r\n" % (subj, block.replace("\n", "\r\n")))
    start = len(st.log("milter"))
    r = st.send(walk_addr, data=data, extra=OUTSIDE)
    assert r.queue_id is None and r.last_reply().startswith("550 5.7.1"), r.transcript
    m = st.wait_log("milter", r"(?m)^.*to=<walk@beta\.example>.*verdict=infected.*$", start=start)
    assert "parse=libclamav" in m.group(0), m.group(0)


def test_ambiguous_delimiter_goes_to_libclamav(st, walk_addr):
    # "--B1x" starts like the delimiter "--B1": readers differ, so the walker
    # does not decide; libclamav's parser still finds the EICAR part.
    start = len(st.log("milter"))
    r = st.send(walk_addr, extra=OUTSIDE, data=mime(uniq("walk-ambig"), [
        ("Content-Type: text/plain\r\n", "first\r\n--B1x\r\nnot a delimiter\r\n"),
        ("Content-Type: application/octet-stream; name=\"e.com\"\r\n"
         "Content-Transfer-Encoding: base64\r\n", b64(EICAR)),
    ], boundary="B1"))
    assert r.queue_id is None and "Eicar-Test-Signature" in r.last_reply(), r.transcript
    line = st.wait_log("milter", r"(?m)^.*verdict=infected.*$", start=start).group(0)
    assert "to=<walk@beta.example>" in line and " parse=libclamav " in line, line


def test_unscannable_part_does_not_hide_a_virus(st, walk_addr):
    # An encrypted zip is unscannable; the walk goes on to the next part,
    # whose virus decides: reject, not the tempfail of "unscannable".
    r = st.send(walk_addr, extra=OUTSIDE, data=mime(uniq("walk-enc"), [
        ("Content-Type: application/zip; name=\"e.zip\"\r\nContent-Transfer-Encoding: base64\r\n",
         b64(encrypted_zip())),
        ("Content-Type: application/octet-stream; name=\"clam.exe\"\r\n"
         "Content-Transfer-Encoding: base64\r\n", b64(open(CLAM_EXE, "rb").read())),
    ]))
    assert r.queue_id is None and r.last_reply().startswith("550 5.7.1"), r.transcript


def test_mail_target_signature_matches_headers(st, walk_addr):
    # A signature for mail files (target type 4) on a header token: only
    # the raw pass over the whole message sees headers.
    token = uniq("moat-mailsig")
    ndb = os.path.join(st.env["SIGS_DIR"], "walk-mail.ndb")
    start = len(st.log("milter"))
    with open(ndb + ".tmp", "w") as f:
        f.write("Moat.Test.MailHeader:4:*:%s\n" % token.encode().hex())
    os.chmod(ndb + ".tmp", 0o644)
    os.rename(ndb + ".tmp", ndb)
    try:
        st.wait_log("milter", r"signatures reloaded", timeout=30, start=start)
        start = len(st.log("milter"))
        r = st.send(walk_addr, extra=OUTSIDE, data=mime(token, [
            ("Content-Type: text/plain\r\n", "nothing to see\r\n")]))
        assert r.queue_id is None and "Moat.Test.MailHeader" in r.last_reply(), r.transcript
        line = st.wait_log("milter", r"(?m)^.*virus=Moat\.Test\.MailHeader.*$", start=start).group(0)
        assert "parse=walk" in line, line
    finally:
        start = len(st.log("milter"))
        os.unlink(ndb)
        st.wait_log("milter", r"signatures reloaded", timeout=30, start=start)


def test_mime_walk_off_uses_libclamav(st, walk_addr):
    st.reconfigure("milter", "mime_walk", False)
    try:
        r = st.send(walk_addr, extra=OUTSIDE, data=mime(uniq("walk-off"), [
            ("Content-Type: text/plain\r\n", "hello\r\n")]))
        assert r.ok, r.transcript
        line = milter_line(st, r.queue_id)
        assert "verdict=clean" in line and re.search(r" parse=libclamav ", line), line
    finally:
        st.reconfigure("milter", "mime_walk", True)


def test_message_over_memory_buffer_is_walked_from_its_file(st, walk_addr):
    # Over milter.memory_buffer (1 MB) the message lives in an unlinked
    # spool file; the walk maps it.  The virus is in the last part.
    start = len(st.log("milter"))
    r = st.send(walk_addr, extra=OUTSIDE, data=mime(uniq("walk-big"), [
        ("Content-Type: application/octet-stream; name=\"big.bin\"\r\n"
         "Content-Transfer-Encoding: base64\r\n", b64(os.urandom(2 * 1024 * 1024))),
        ("Content-Type: application/octet-stream; name=\"e.com\"\r\n"
         "Content-Transfer-Encoding: base64\r\n", b64(EICAR)),
    ]))
    assert r.queue_id is None and "Eicar-Test-Signature" in r.last_reply(), r.transcript
    line = st.wait_log("milter", r"(?m)^.*verdict=infected.*$", start=start).group(0)
    m = re.search(r" size=(\d+) ", line)
    assert m and int(m.group(1)) > 2 * 1024 * 1024 and " parse=walk " in line, line
