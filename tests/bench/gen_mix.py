#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""gen_mix.py OUT ZIP - the benches' message mix (milter_bench.sh,
milter_null_bench.sh).

20 message files in OUT, the same bytes on every run (seeded): 19 plain-text
messages of 2-100 KB (clean-NN-SIZEk.eml; clean-06-10k.eml is the 10 KB
message of the latency and 10 KB workloads) and one multipart message
carrying ZIP base64-encoded (infected-10k.eml: 5 % infected with clam.zip).
"""
import base64, os, random, sys
out, zip_path = sys.argv[1], sys.argv[2]
random.seed(7)
words = "the of and to in is for on that with as by at from this are be or it an".split()
def text(n):
    lines, size = [], 0
    while size < n:
        l = " ".join(random.choice(words) for _ in range(12))
        lines.append(l); size += len(l) + 2
    return "\r\n".join(lines) + "\r\n"
sizes = [2, 3, 4, 5, 6, 8, 10, 10, 12, 15, 20, 25, 30, 40, 50, 60, 70, 80, 100]
for i, kb in enumerate(sizes):
    with open(os.path.join(out, "clean-%02d-%dk.eml" % (i, kb)), "w", newline="") as f:
        f.write("From: <bench@example.net>\r\nTo: <bench@beta.example>\r\n"
                "Subject: bench %d KB\r\n\r\n" % kb)
        f.write(text(kb * 1024 - 80))
z = base64.encodebytes(open(zip_path, "rb").read()).decode().replace("\n", "\r\n")
with open(os.path.join(out, "infected-10k.eml"), "w", newline="") as f:
    f.write("From: <bench@example.net>\r\nTo: <bench@beta.example>\r\nSubject: bench infected\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
            "--b1\r\nContent-Type: text/plain\r\n\r\n" + text(9000) +
            "--b1\r\nContent-Type: application/zip; name=\"clam.zip\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n" + z + "--b1--\r\n")
