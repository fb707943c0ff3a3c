#!/usr/bin/python3
"""The MIME differential test: does the walker scan every leaf another mail
reader would show the recipient?

Readers: the walker (milter/milter_parts.c, through parts_leaves), Python's
email package with email.policy.compat32 and email.policy.default (stdlib
only, Debian's /usr/bin/python3) and GMime 3 (through gmime_leaves).  A
leaf is what a reader decodes from a non-multipart part (base64 and
quoted-printable undone), or a multipart's preamble or epilogue;
message/rfc822 parts are entered.

Corpus: fuzz/corpus/mime, fuzz/corpus/parts, fuzz/corpus/parts_diff (when
present), the messages under milter/testdata, and Python's own email test
corpus (/usr/lib/python3.X/test/test_email/data, Debian's
libpython3.X-testsuite) when installed.

A message passes when the walker sends it to libclamav's mail parser
(PARTS_FALLBACK) or when every non-empty leaf of every other reader is,
modulo trailing white space, one of the walker's leaves.  Exit 0 when all
pass, 1 otherwise (each miss listed with -v, the first 20 without).
"""
import argparse
import email
import email.policy
import glob
import os
import subprocess
import sys
import sysconfig

FALLBACK = -2
WS = b" \t\r\n"


def corpus(src):
    files = []
    for d in ("fuzz/corpus/mime", "fuzz/corpus/parts", "fuzz/corpus/parts_diff"):
        files += sorted(glob.glob(os.path.join(src, d, "*")))
    for pat in ("*.eml", "*.in", "*.msg"):
        files += sorted(glob.glob(os.path.join(src, "milter/testdata/**", pat), recursive=True))
    pydata = os.path.join(sysconfig.get_paths()["stdlib"], "test/test_email/data")
    files += sorted(glob.glob(os.path.join(pydata, "msg_*.txt")))
    return [f for f in files if os.path.isfile(f)]


def source_of(path, src):
    rel = os.path.relpath(path, src)
    if rel.startswith("fuzz/corpus/"):
        return rel.split("/")[2] + " corpus"
    if rel.startswith("milter/testdata/"):
        return "golden"
    if "test_email" in path:
        return "python corpus"
    return "given"


def run_reader(binary, files):
    """{path: (rc, [leaf bytes])} from a leaves_out.h printer."""
    out = {}
    for i in range(0, len(files), 200):
        r = subprocess.run([binary] + files[i:i + 200], stdout=subprocess.PIPE, timeout=120)
        if r.returncode != 0:
            sys.exit("differential.mime: %s exited %d on files %d..%d"
                     % (binary, r.returncode, i, min(i + 200, len(files)) - 1))
        data = r.stdout
        pos = 0
        while pos < len(data):
            nl = data.index(b"\n", pos)
            path = data[pos + 2:nl].decode("utf-8", "surrogateescape")
            pos = nl + 1
            leaves = []
            while data[pos:pos + 2] in (b"L ", b"T "):
                nl = data.index(b"\n", pos)
                n = int(data[pos + 2:nl])
                leaves.append((data[nl + 1:nl + 1 + n], data[pos:pos + 1] == b"T"))
                pos = nl + 1 + n + 1
            assert data.startswith(b"E ", pos), (binary, path, pos)
            nl = data.index(b"\n", pos)
            out[path] = (int(data[pos + 2:nl]), leaves)
            pos = nl + 1
    return out


def text_bytes(s):
    """A preamble or epilogue as the bytes it came from (the bytes parser
    decodes ASCII with surrogateescape)."""
    try:
        return s.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return s.encode("utf-8", "surrogateescape")


def python_leaves(data, policy):
    leaves = []
    try:
        msg = email.message_from_bytes(data, policy=policy)
        for part in msg.walk():
            if part.is_multipart():
                if part.get_content_maintype() == "multipart":
                    for s in (part.preamble, part.epilogue):
                        if s:
                            leaves.append(text_bytes(s))
                continue
            p = part.get_payload(decode=True)
            if p:
                leaves.append(p)
    except Exception as e:          # a reader that gives up shows nothing
        leaves.append(None)
    return [x for x in leaves if x is not None]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--walker", required=True)
    ap.add_argument("--gmime", required=True)
    ap.add_argument("--src", default=os.path.join(os.path.dirname(__file__), "../.."))
    ap.add_argument("-v", action="store_true", help="list every miss")
    ap.add_argument("files", nargs="*", help="these messages instead of the corpus")
    a = ap.parse_args()

    files = a.files or corpus(a.src)
    walker = run_reader(a.walker, files)
    gmime = run_reader(a.gmime, files)
    stats = {"files": len(files), "walked": 0, "fallback": 0, "error": 0}
    misses = {"compat32": 0, "default": 0, "gmime": 0}
    bad_files = set()
    shown = 0
    sources = {}
    for f in files:
        rc, wleaves = walker[f]
        src = source_of(f, a.src)
        sw = sources.setdefault(src, [0, 0])
        sw[rc == FALLBACK] += 1
        if rc == FALLBACK:
            stats["fallback"] += 1
            continue
        if rc != 0:
            stats["error"] += 1
            continue
        stats["walked"] += 1
        # GMime gives a preamble or epilogue with LF line ends.
        wleaves = [x for x, _ in wleaves]
        have = {x.rstrip(WS) for x in wleaves} | \
            {x.replace(b"\r\n", b"\n").rstrip(WS) for x in wleaves}
        data = open(f, "rb").read()
        readers = {
            "compat32": [(x, False) for x in python_leaves(data, email.policy.compat32)],
            "default": [(x, False) for x in python_leaves(data, email.policy.default)],
            "gmime": gmime[f][1],
        }
        for name, leaves in readers.items():
            for leaf, prefix in leaves:
                k = leaf.rstrip(WS)
                if not k or k in have or k.replace(b"\r\n", b"\n") in have:
                    continue
                if prefix and any(x.startswith(k) or x.startswith(k.replace(b"\r\n", b"\n"))
                                  for x in have):
                    continue
                misses[name] += 1
                bad_files.add(f)
                if a.v or shown < 20:
                    shown += 1
                    print("MISS %s: %s leaf %r not scanned (walker leaves: %r)"
                          % (os.path.relpath(f, a.src), name, k[:80], [x[:40] for x in have]))
    print("differential.mime: %(files)d messages, %(walked)d walked, %(fallback)d to "
          "libclamav's parser" % stats + (", %d walker errors" % stats["error"]
                                          if stats["error"] else ""))
    print("  walked/fallback by source: " + ", ".join(
        "%s %d/%d" % (k, v[0], v[1]) for k, v in sorted(sources.items())))
    print("  leaves missed by the walk: compat32 %(compat32)d, default %(default)d, "
          "gmime %(gmime)d" % misses + "; in %d messages" % len(bad_files))
    return 1 if bad_files else 0


if __name__ == "__main__":
    sys.exit(main())
