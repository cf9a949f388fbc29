"""The interviewer steers (issue 27): a click reaches the advisor through the running engine, in
order with the session's events, and the panel never redraws the list under the pointer."""

from __future__ import annotations

import threading
import time

from test_web import browser, wait_for  # noqa: F401  (browser: that module's fixture)

from pipeline.engine import Engine
from pipeline.events import InterviewerActionEvent, StatusEvent, SuggestionEvent
from pipeline.sinks.web.app import Panel, live_app
from pipeline.sinks.web.log import EventLog
from pipeline.sinks.web.server import WebServer


class Silence:
    """A source that delivers no audio until stopped."""

    speakers = ("interviewer",)

    def __init__(self) -> None:
        self.done = threading.Event()

    def __iter__(self):
        self.done.wait(30)
        return iter(())

    def stop(self) -> None:
        self.done.set()


class NoWhisper:
    def reset(self) -> None:
        pass


def next_event(events):
    """The next event that is not pipeline status (this stand-in has no second pass, for one)."""
    return next(e for e in events if not isinstance(e, StatusEvent))


def test_a_click_reaches_the_advisor_through_the_engine():
    from pipeline.interview.step import build_interview_step

    step = build_interview_step("ml-engineer").fresh()
    first = step.advisor.suggest()[0].id
    source = Silence()
    engine = Engine([source], NoWhisper(), steps=[step])
    events = engine.events()
    assert isinstance(next(events), StatusEvent)  # ready
    assert engine.steer(InterviewerActionEvent(action="asked", target=first, at=1.0))
    action = next_event(events)
    assert isinstance(action, InterviewerActionEvent) and action.target == first  # into the record first
    answered = [next_event(events), next_event(events)]
    assert [e.type for e in answered] == ["coverage", "suggestion"]
    assert first not in [item["id"] for item in answered[1].items]
    assert first in step.advisor.state.asked
    engine.steer(InterviewerActionEvent(action="dismiss", target=answered[1].items[0]["id"], at=2.0))
    source.stop()
    rest = list(events)  # a click queued before the end is still taken
    assert [e.type for e in rest if e.type != "status"][:2] == ["interviewer_action", "suggestion"]
    assert not engine.steer(InterviewerActionEvent(action="pin", target=first, at=3.0))  # over: the caller records it


def suggestion(*ids: str) -> dict:
    return SuggestionEvent(items=[{"id": q, "text": f"Question {q}?", "reason": "why", "kind": "coverage"}
                                  for q in ids], after_utterance=0, latency_ms={}).to_dict()


def shown(page) -> list[str]:
    return page.evaluate("() => [...document.querySelectorAll('#suggestions .suggestion')].map(li => li.dataset.id)")


def test_the_list_holds_still_under_the_pointer(browser):  # noqa: F811
    """New suggestions arrive while the pointer is over the list: nothing moves, the clicked question
    is the one marked; when the pointer leaves, the new list is drawn."""
    log = EventLog()
    clicks: list[InterviewerActionEvent] = []

    def on_action(event: InterviewerActionEvent) -> None:  # as the engine does: the click into the stream
        clicks.append(event)
        log.append(event.to_dict())

    panel = Panel(log=log, title="steering", on_action=on_action)
    server = WebServer(lambda token, elsewhere: live_app(panel, token, elsewhere)).start()
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(server.url)
        log.append({"type": "status", "state": "ready", "message": "listening", "details": {}})
        log.append(suggestion("a", "b", "c"))
        wait_for(page, "() => document.querySelectorAll('#suggestions .suggestion').length === 3")
        page.hover('#suggestions .suggestion[data-id="b"] .q')
        log.append(suggestion("d", "b", "a"))  # b would move to where the pointer is not
        log.append({**suggestion("e", "d", "b"), "note": "ML fundamentals screen is over time (47 of 45 min)"})
        wait_for(page, "() => !document.getElementById('time-note').hidden")
        time.sleep(0.3)
        assert shown(page) == ["a", "b", "c"]  # held
        box = page.locator('#suggestions .suggestion[data-id="b"] button[data-action="asked"]').bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=3)
        page.mouse.down()
        page.mouse.up()
        wait_for(page, "() => document.querySelector('#suggestions [data-id=\"b\"]').classList.contains('done')")
        assert [(c.action, c.target) for c in clicks] == [("asked", "b")]
        assert shown(page) == ["a", "b", "c"]  # still held: the pointer is on the list
        page.mouse.move(5, 5, steps=3)  # the pointer leaves: the latest list, without what was asked
        wait_for(page, "() => [...document.querySelectorAll('#suggestions .suggestion')].map(li => li.dataset.id)"
                       ".join() === 'e,d'")
        assert "over time" in page.text_content("#time-note")
        assert not errors, errors
    finally:
        page.close()
        server.stop()
