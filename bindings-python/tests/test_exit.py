"""Every shape of host process exits cleanly, 30 fresh processes each (see exit_check.py for the
shapes, the failure they guard against, and how it was reproduced with the fix switched off)."""

from __future__ import annotations

import sys

import exit_check
from conftest import FakeGemini


def test_every_shape_exits_cleanly_30_times(fake: FakeGemini) -> None:
    fake.script(exit_check.FAKE_TURNS)
    failures = exit_check.check(list(exit_check.SHAPES), runs=30, jobs=3, python=sys.executable, url=fake.url)
    assert failures == [], "\n".join(failures)
