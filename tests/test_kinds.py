"""Kinds have one list each: bank entry kinds (`pipeline.retrieval.schema.ENTRY_KINDS`) for thresholds
and match results, alert types (`pipeline.events.ALERT_TYPES`) for the step, the report and the page."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from pipeline import events
from pipeline.events import ALERT_TYPES, Event
from pipeline.retrieval.matcher import Candidate, MatchResult, rejection
from pipeline.retrieval.schema import ENTRY_KINDS, KIND_LISTS, Thresholds, hits_of

APP_JS = Path(__file__).resolve().parents[1] / "pipeline" / "sinks" / "web" / "static" / "app.js"


def event_types() -> set[str]:
    return {obj.type for obj in vars(events).values()
            if isinstance(obj, type) and issubclass(obj, Event) and dataclasses.is_dataclass(obj)
            and isinstance(getattr(obj, "type", None), str)}


def test_each_entry_kind_has_its_own_threshold_and_hit_list():
    thresholds = Thresholds(question=0.11, compliance=0.22, red_flag=0.33)
    assert [thresholds.of(k) for k in ENTRY_KINDS] == [0.11, 0.22, 0.33]
    assert set(KIND_LISTS) == set(ENTRY_KINDS)
    result = MatchResult(speaker="unknown", text="")
    lists = [hits_of(result, k) for k in ENTRY_KINDS]
    assert len({id(x) for x in lists}) == len(ENTRY_KINDS)  # three different lists of the result


@pytest.mark.parametrize("kind", ENTRY_KINDS)
def test_the_threshold_rule_reads_the_candidates_own_kind(kind):
    thresholds = Thresholds(question=0.5, compliance=0.7, red_flag=0.9)
    just_under = Candidate(kind=kind, id="x", score=thresholds.of(kind) - 0.01)
    at = Candidate(kind=kind, id="x", score=thresholds.of(kind))
    assert rejection(just_under, thresholds) == "too low"
    assert rejection(at, thresholds) is None


def test_an_unknown_kind_has_no_threshold():
    with pytest.raises(KeyError):
        Thresholds().of("small_talk")  # type: ignore[arg-type]


def test_alert_types_are_events_and_the_page_handles_each_one():
    assert set(ALERT_TYPES) <= event_types()
    handled = set(re.findall(r'case "(\w+)":', APP_JS.read_text(encoding="utf-8")))
    assert set(ALERT_TYPES) <= handled, set(ALERT_TYPES) - handled
    assert handled <= event_types(), handled - event_types()  # the page names no type the server never sends
