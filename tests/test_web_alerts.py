"""Alerts that change their mind in the web panel, in a real headless Chromium: a scripted event
stream (no models) fed step by step to the live panel's server, checked after each step."""

from __future__ import annotations

import time

from test_web import browser, page_state  # noqa: F401  (browser: that module's fixture)

from pipeline.sinks.web.app import Panel, live_app
from pipeline.sinks.web.log import EventLog
from pipeline.sinks.web.server import WebServer


def test_provisional_alert_replaced_in_place_and_withdrawn_ones_removed(browser):  # noqa: F811
    """The panel shows each alert once: a confirmation replaces its provisional alert, a withdrawal
    removes the alert and its tag, a revision keeps the line's tags."""
    def line(uid, speaker, text, final=True, revision=0):
        return {"type": "transcript", "utterance_id": uid, "speaker": speaker, "start": uid * 5.0,
                "end": uid * 5.0 + 3, "text": text, "final": final, "revision": revision, "latency_ms": {}}

    def age(uid, provisional):
        return {"type": "compliance", "id": "age", "name": "Age", "speaker": "interviewer", "score": 0.9,
                "quote": "how old", "start": uid * 5.0, "end": uid * 5.0 + 3, "alternative": "Over 18?",
                "latency_ms": {}, "utterance_id": uid, "key": f"compliance:age:{uid * 5.0:.3f}",
                "provisional": provisional}

    def withdrawn(kind, entry_id, uid, reason):
        return {"type": "withdrawn", "key": f"{kind}:{entry_id}:{uid * 5.0:.3f}", "of": kind, "id": entry_id,
                "utterance_id": uid, "reason": reason, "speaker": "interviewer", "start": uid * 5.0,
                "end": uid * 5.0 + 3, "latency_ms": {}}

    flag = {"type": "red_flag", "id": "no-monitoring", "name": "No monitoring", "speaker": "unknown", "score": 0.9,
            "quote": "never monitored", "start": 10.0, "end": 13.0, "probes": [], "latency_ms": {},
            "utterance_id": 2, "key": "red_flag:no-monitoring:10.000"}
    asked = {"type": "question_asked", "id": "monitor-deployed-model", "text": "How would you know?",
             "stage": "production-experience", "competencies": ["mlops"], "score": 0.6, "speaker": "unknown",
             "quote": "never monitored", "start": 10.0, "end": 13.0, "latency_ms": {}, "utterance_id": 2,
             "key": "question_asked:monitor-deployed-model:10.000"}
    steps = [
        ([line(0, "interviewer", "By the way, how old", final=False), age(0, True)],
         [("compliance:age:0.000", True)], {"0": ["do not ask"]}),
        ([line(0, "interviewer", "By the way, how old are you?"), age(0, False)],
         [("compliance:age:0.000", False)], {"0": ["do not ask"]}),
        ([line(1, "interviewer", "And how old", final=False), age(1, True)],
         [("compliance:age:5.000", True), ("compliance:age:0.000", False)], {"0": ["do not ask"], "1": ["do not ask"]}),
        ([line(1, "interviewer", "And how old is your data pipeline?"), withdrawn("compliance", "age", 1, "final")],
         [("compliance:age:0.000", False)], {"0": ["do not ask"], "1": []}),
        ([line(2, "unknown", "We never monitored it."), flag, asked],
         [("compliance:age:0.000", False), ("red_flag:no-monitoring:10.000", False)],
         {"0": ["do not ask"], "1": [], "2": ["red flag", "bank question"]}),
        ([line(2, "candidate", "We never monitored it.", revision=1),
          withdrawn("question_asked", "monitor-deployed-model", 2, "speaker")],
         [("compliance:age:0.000", False), ("red_flag:no-monitoring:10.000", False)],
         {"0": ["do not ask"], "1": [], "2": ["red flag"]}),
    ]
    log = EventLog()
    panel = Panel(log=log, title="alerts", on_action=lambda event: None)
    server = WebServer(lambda token, elsewhere: live_app(panel, token, elsewhere)).start()
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(server.url)
        for events, alerts, tags in steps:
            for event in events:
                log.append(event)
            # The step's events render one by one: wait for the whole expected state, not the first
            # render that happens to match part of it (the same keys can be up before a withdrawal).
            deadline = time.monotonic() + 10
            while True:
                shown = page.evaluate("""() => [...document.querySelectorAll('.alert')].map(a => [a.dataset.key,
                    a.classList.contains('provisional'), a.querySelector('.kind').textContent])""")
                lines = {line["utterance"]: line for line in page_state(page)["lines"]}
                now = ([(key, provisional) for key, provisional, _ in shown],
                       {uid: line["tags"] for uid, line in lines.items()})
                if now == (alerts, tags) or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            assert now == (alerts, tags)
            assert all(("still being asked" in kind) == provisional for _, provisional, kind in shown)
        assert lines["2"]["speaker"] == "candidate"  # the revision renamed the line, its tag stayed
        assert not errors, errors
    finally:
        page.close()
        server.stop()
