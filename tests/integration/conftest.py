# SPDX-License-Identifier: GPL-2.0-or-later
"""pytest fixtures for Moat integration tests (see moatstack.py).

  stack          module scope: a stack up in a fresh /tmp/moat-stack-* dir,
                 brought down at the end; fails if any process is left.
  st             module scope: the stack, failing at once when moat-milter is
                 not running in it (the milter tests' fixture; a test module
                 may define its own st).
  stack_factory  function scope: stack_factory(env={...}) -> Stack, for tests
                 that need their own stack (custom ports, sink rejects, ...);
                 each one is brought down (and checked) at the end of the test.
Every stack's daemon logs are read after down: a sanitizer report in them
(ASan, LeakSanitizer, UBSan; the sanitizer build's daemons write them to
stderr, which the stack keeps in DIR/log) fails the test that made the stack.
Set MOAT_KEEP_STACK=1 to keep the directories (logs, sink, store) afterwards.
"""
import glob
import os
import re
import shutil
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from moatstack import Stack  # noqa: E402


SANITIZER_REPORT = re.compile(
    rb"ERROR: (AddressSanitizer|LeakSanitizer)|SUMMARY: UndefinedBehaviorSanitizer|"
    rb"\bruntime error: ")


def sanitizer_reports(log_dir):
    """The first lines of every sanitizer report in log_dir/*.log."""
    found = []
    for path in sorted(glob.glob(os.path.join(log_dir, "*.log"))):
        with open(path, "rb") as f:
            data = f.read()
        m = SANITIZER_REPORT.search(data)
        if m:
            start = data.rfind(b"\n", 0, m.start()) + 1
            found.append("%s:\n%s" % (path, data[start:start + 3000].decode("utf-8", "replace")))
    return found


def _finish(st):
    left = st.down(check=False)
    rc_ok = "is down" in getattr(st, "down_output", "")
    reports = sanitizer_reports(os.path.join(st.dir, "log"))
    keep = os.environ.get("MOAT_KEEP_STACK") == "1"
    if not keep and not left and rc_ok and not reports:
        shutil.rmtree(st.dir, ignore_errors=True)
    assert not reports, "sanitizer reports (stack kept in %s):\n%s" % (st.dir, "\n".join(reports))
    assert rc_ok, "moat-stack down failed:\n%s" % getattr(st, "down_output", "")
    assert not left, "processes left after down: %r" % left


@pytest.fixture(scope="module")
def stack():
    st = Stack()
    try:
        st.up()
    except Exception:
        if st.dir:
            st.down(check=False)
        raise
    yield st
    _finish(st)


@pytest.fixture
def stack_factory():
    made = []

    def make(env=None):
        st = Stack()
        made.append(st)
        st.up(env=env)
        return st
    yield make
    errors = []
    for st in made:
        try:
            _finish(st)
        except AssertionError as e:
            errors.append(str(e))
    assert not errors, "\n".join(errors)


@pytest.fixture(scope="module")
def st(stack):
    if not stack.milter_running:
        pytest.fail("moat-milter is not running in the stack:\n" + stack.tails())
    return stack
