"""The status states have one list (`pipeline.events.STATUS_STATES`): the engine emits only those, and
the page, the terminal view and the report handle only those."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline.events import STATUS_STATES, StatusEvent

PIPELINE = Path(__file__).resolve().parents[1] / "pipeline"


def test_a_state_outside_the_list_is_refused():
    with pytest.raises(ValueError, match="unknown status state"):
        StatusEvent(state="behind")


@pytest.mark.parametrize("path, pattern", [
    ("sinks/web/static/app.js", r'e\.state === "(\w+)"'),
    ("sinks/terminal.py", r'event\.state == "(\w+)"'),
    ("engine.py", r'StatusEvent\(\s*state="(\w+)"'),
])
def test_every_state_handled_or_emitted_is_in_the_list(path, pattern):
    named = set(re.findall(pattern, (PIPELINE / path).read_text(encoding="utf-8")))
    assert named and named <= set(STATUS_STATES), named - set(STATUS_STATES)
