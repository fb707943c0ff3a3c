# SPDX-License-Identifier: GPL-2.0-or-later
"""Repair through a real Postfix with hostile top MIME headers: a very long
Content-Type (must not be cut when the milter applies it) and a duplicated
Content-Type (the extra copy must not survive to contradict the rewritten
body).  Alpha's demo policy repairs infected mail.
"""
import base64
import uuid


from moatstack import EICAR, OUTSIDE


def raw_message(to, subject, content_type_lines, boundary):
    clean = base64.b64encode(b"clean attachment " * 40).decode()
    bad = base64.b64encode(EICAR).decode()
    return ("From: sender@example.net\r\nTo: %s\r\nSubject: %s\r\nMIME-Version: 1.0\r\n"
            "%s\r\n"
            "--%s\r\nContent-Type: text/plain\r\n\r\nHello\r\n"
            "--%s\r\nContent-Type: application/octet-stream; name=keep.bin\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n"
            "--%s\r\nContent-Type: application/octet-stream; name=eicar.com\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n"
            "--%s--\r\n" % (to, subject, content_type_lines, boundary, boundary, clean,
                            boundary, bad, boundary)).encode()


def repaired(st, to, data, subject):
    r = st.send(to, data=data, extra=OUTSIDE)
    assert r.ok, r.transcript
    [m] = st.wait_sink(lambda m: subject in m.subject and to in m.rcpt_to
                       and m.header("X-Moat-Status", "").startswith("repaired"))
    return m


def test_long_content_type_survives_repair(st):
    subject = "longct-" + uuid.uuid4().hex[:8]
    boundary = "b" + uuid.uuid4().hex
    # 3,000 bytes of parameters before the boundary, folded over lines.
    filler = ";\r\n x-pad%d=\"%s\"" 
    params = "".join(filler % (i, "p" * 90) for i in range(30))
    ct = "Content-Type: multipart/mixed%s;\r\n boundary=\"%s\"" % (params, boundary)
    m = repaired(st, "lc@alpha.example", raw_message("lc@alpha.example", subject, ct, boundary),
                 subject)
    got = m.msg.get("Content-Type")
    assert got is not None and boundary in got, "boundary lost from Content-Type: %r" % got
    names = [p[1] for p in m.parts()]
    assert "keep.bin" in names and "eicar.com" not in names, names


def test_duplicate_content_type_leaves_one(st):
    subject = "dupct-" + uuid.uuid4().hex[:8]
    boundary = "b" + uuid.uuid4().hex
    ct = ("Content-Type: text/plain\r\n"
          "Content-Type: multipart/mixed; boundary=\"%s\"" % boundary)
    m = repaired(st, "dc@alpha.example", raw_message("dc@alpha.example", subject, ct, boundary),
                 subject)
    cts = m.headers("Content-Type")
    assert len(cts) == 1, "Content-Type headers after repair: %r" % cts
    assert "multipart/mixed" in cts[0], cts
    names = [p[1] for p in m.parts()]
    assert "keep.bin" in names and "eicar.com" not in names, names


def test_single_part_attachment_loses_its_disposition(st):
    # The whole message is the infected file: repair replaces it with a
    # notice, and the top Content-Disposition naming the file must go too
    # (left behind, mail programs show the notice as "eicar.com").
    subject = "singlecd-" + uuid.uuid4().hex[:8]
    data = ("From: sender@example.net\r\nTo: sd@alpha.example\r\nSubject: %s\r\n"
            "MIME-Version: 1.0\r\nContent-Type: application/octet-stream; name=eicar.com\r\n"
            "Content-Disposition: attachment; filename=eicar.com\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n"
            % (subject, base64.b64encode(EICAR).decode())).encode()
    m = repaired(st, "sd@alpha.example", data, subject)
    cds = m.headers("Content-Disposition")
    assert all("eicar.com" not in v for v in cds), "stale disposition: %r" % cds
    assert len(cds) <= 1, cds
    assert "eicar.com" not in (m.msg.get("Content-Type") or ""), m.msg.get("Content-Type")
    assert EICAR not in m.data
