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
Set MOAT_KEEP_STACK=1 to keep the directories (logs, sink, store) afterwards.
"""
import os
import shutil
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from moatstack import Stack  # noqa: E402


def _finish(st):
    left = st.down(check=False)
    rc_ok = "is down" in getattr(st, "down_output", "")
    keep = os.environ.get("MOAT_KEEP_STACK") == "1"
    if not keep and not left and rc_ok:
        shutil.rmtree(st.dir, ignore_errors=True)
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
