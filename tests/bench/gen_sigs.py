#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""gen_sigs.py DIR HASHES BODY - a large random signature set for the benches.

Writes HASHES random MD5 hash signatures (big.hdb) and BODY random 24-byte
body signatures of any target (big.ndb) into DIR, each written aside
(.big.*) and renamed, mode 0644.  Nothing in them matches real mail: they
cost what a large database costs (load, memory, the per-file hash lookup
and the body matcher) without changing any verdict.
"""
import os
import sys

d, n, b = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(os.path.join(d, ".big.hdb"), "w") as f:
    for i in range(n):
        f.write("%s:%d:Moat.Bench.Hash-%d\n" % (os.urandom(16).hex(), 1000 + i % 100000, i))
with open(os.path.join(d, ".big.ndb"), "w") as f:
    for i in range(b):
        f.write("Moat.Bench.Body-%d:0:*:%s\n" % (i, os.urandom(24).hex()))
for x in ("big.hdb", "big.ndb"):
    os.chmod(os.path.join(d, "." + x), 0o644)
    os.rename(os.path.join(d, "." + x), os.path.join(d, x))
