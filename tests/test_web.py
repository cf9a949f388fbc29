"""The web panel in a real headless Chromium (Debian's `chromium`, driven by Playwright).

One replay of the demo interview (`--fast --web`) is watched from start to end as a person
would: what the page shows, a click, a reload mid-session, a keyboard choice; the record and
the report are then checked for the clicks. Past sessions (`s2q serve`) and the server's
refusals are tested without models.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from demo_checks import DEMO, turn_of

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SCREENSHOTS = os.environ.get("S2Q_WEB_SCREENSHOTS")  # a folder (e.g. docs) to save the README's screenshots in

from playwright import sync_api  # noqa: E402  (the `test` extra)

# No silent skip: `make test` installs chromium (tools/install-system-deps.sh); without it this fails.
assert os.path.exists(CHROMIUM), "Debian's chromium is not installed (tools/install-system-deps.sh installs it)"


class Served:
    """An `s2q` process serving the panel: its URL from stderr, stopped with Ctrl-C."""

    def __init__(self, *args: str) -> None:
        env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen([sys.executable, "-m", "pipeline", *args], cwd=ROOT, env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.stderr: list[str] = []
        self.url: str | None = None
        ready = threading.Event()

        def read() -> None:
            for line in self.proc.stderr:
                self.stderr.append(line)
                if line.startswith("Web panel: "):
                    self.url = line.split()[2]
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        ready.wait(60)
        assert self.url, "".join(self.stderr)
        parts = urlsplit(self.url)
        self.base, self.token = f"{parts.scheme}://{parts.netloc}", parts.query.split("=", 1)[1]

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(30)


def http(url: str, headers: dict[str, str] | None = None, data: bytes | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def wait_for(page, predicate: str, timeout: float = 30.0) -> None:
    """Polls a JS function; Playwright's own wait_for_function evaluates strings, which the CSP forbids."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(predicate):
        assert time.monotonic() < deadline, f"timed out waiting for {predicate}"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def page_state(page) -> dict:
    return page.evaluate("""() => ({
        lines: [...document.querySelectorAll('#transcript .line')].map(li => ({
            utterance: li.dataset.utterance, speaker: li.className.split(' ')[1],
            partial: li.classList.contains('partial'), text: li.querySelector('.text').textContent,
            tags: [...li.querySelectorAll('.tag')].map(t => t.textContent)})),
        suggestions: [...document.querySelectorAll('#suggestions .suggestion')].map(li => li.dataset.id),
        coverage: [...document.querySelectorAll('#coverage .n')].map(n => n.textContent).join(' '),
        alerts: [...document.querySelectorAll('#alerts .alert, #flags .alert')].map(a => ({
            kind: a.classList[1], key: a.dataset.key, name: a.querySelector('.name').textContent,
            quote: a.querySelector('.quote').textContent,
            alternative: (a.querySelector('.alternative') || {}).textContent || null})),
        state: document.getElementById('state').textContent,
        ended: document.body.dataset.ended === 'true',
    })""")


@pytest.fixture(scope="module")
def live(browser, tmp_path_factory):
    """Watches a whole `--fast --web` replay of the demo; returns what was seen and done."""
    record = tmp_path_factory.mktemp("web") / "demo.jsonl"
    served = Served("replay", str(DEMO), "--channels", "interviewer,candidate", "--fast", "--web",
                    "--no-browser", "--record", str(record))
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    seen = {"suggestions": [], "coverage": [], "clicked": None, "keyed": None, "reloaded_at": None}
    try:
        page.goto(served.url)
        other = context.new_page()  # a second tab: joins late, reloads mid-session
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            state = page_state(page)
            if state["suggestions"] and state["suggestions"] != (seen["suggestions"] or [None])[-1]:
                seen["suggestions"].append(state["suggestions"])
            if state["coverage"] and state["coverage"] != (seen["coverage"] or [None])[-1]:
                seen["coverage"].append(state["coverage"])
            finals = [line for line in state["lines"] if not line["partial"]]
            if other.url == "about:blank" and len(finals) >= 5:
                other.goto(served.url)
            if seen["reloaded_at"] is None and len(finals) >= 12 and not state["ended"]:
                seen["reloaded_at"] = len(finals)
                other.reload()
                continue
            if seen["reloaded_at"] is not None and seen["clicked"] is None and state["suggestions"]:
                target = state["suggestions"][0]
                try:  # the list may be redrawn by the next event: the click goes to that button itself, not
                    # to where it was (a pointer click landed on the suggestion redrawn in its place)
                    page.dispatch_event(f'#suggestions .suggestion[data-id="{target}"] button[data-action="asked"]',
                                        "click", timeout=5000)
                except sync_api.TimeoutError:
                    continue
                seen["clicked"] = target
                wait_for(page, f"() => !document.querySelector('#suggestions [data-id=\"{target}\"]')")
                continue
            if state["ended"]:
                break
            time.sleep(0.3)
        wait_for(other, "() => document.body.dataset.ended === 'true'")
        seen["reloaded"] = page_state(other)
        latencies = page.evaluate("window.s2q.latencies")  # the first tab saw every line arrive live
        final = page_state(page)
        assert final["ended"], final["state"]
        # The keyboard, after the end: down once, Enter marks the second suggestion asked.
        before = final["suggestions"]
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")
        wait_for(page, f"() => !document.querySelector('#suggestions [data-id=\"{before[1]}\"]')")
        seen["keyed"] = before[1]
        compliance = next(a for a in final["alerts"] if a["kind"] == "compliance")
        page.click(f'.alert[data-key="{compliance["key"]}"] button.dismiss')
        wait_for(page, f"() => !document.querySelector('.alert[data-key=\"{compliance['key']}\"]')")
        seen["dismissed_alert"] = compliance["key"]
        if SCREENSHOTS:
            page.reload()
            wait_for(page, "() => document.body.dataset.ended === 'true'")
            page.screenshot(path=str(Path(SCREENSHOTS) / "web-panel-wide.png"))
            page.set_viewport_size({"width": 400, "height": 800})
            page.screenshot(path=str(Path(SCREENSHOTS) / "web-panel-narrow.png"))
        seen["refusals"] = {
            "no token": http(f"{served.base}/")[0],
            "wrong token": http(f"{served.base}/events?token=wrong")[0],
            "foreign host": http(f"{served.base}/?token={served.token}", {"Host": f"evil.example:{urlsplit(served.base).port}"})[0],
            "foreign origin": http(f"{served.base}/action?token={served.token}", {"Origin": "http://evil.example",
                                   "Content-Type": "application/json"}, b'{"action":"asked","target":"x"}')[0],
        }
        seen.update(final=final, latencies=latencies, requests=requests, errors=errors, base=served.base)
    finally:
        context.close()
        seen["rc"] = served.stop()
        seen["stderr"] = "".join(served.stderr)
    seen["record"] = [json.loads(line) for line in record.read_text().splitlines() if line.strip()]
    seen["record_path"] = record
    return seen


def finals_of(events: list[dict]) -> list[dict]:
    """Each utterance's final line as it stands: a revision (`--fast` revises every final) replaces it in place."""
    latest = {e["utterance_id"]: e for e in events if e["type"] == "transcript" and e["final"]}
    return sorted(latest.values(), key=lambda e: e["start"])


def test_replay_exits_cleanly_on_ctrl_c(live):
    assert live["rc"] == 0, live["stderr"]
    assert "Traceback" not in live["stderr"], live["stderr"]
    assert not live["errors"], live["errors"]


@pytest.mark.parametrize("tab", ["final", "reloaded"])
def test_transcript_by_speaker_every_line_once(live, tab):
    """The tab that watched from the start, and the one that joined late and reloaded mid-session."""
    lines = live[tab]["lines"]
    finals = finals_of(live["record"])
    assert live["reloaded_at"] and live["reloaded_at"] < len(finals)  # the reload came mid-session
    assert [line["utterance"] for line in lines] == [str(e["utterance_id"]) for e in finals]  # once each, in order
    assert [line["text"] for line in lines] == [e["text"] for e in finals]
    assert [line["speaker"] for line in lines] == [e["speaker"] for e in finals]
    assert {"interviewer", "candidate"} <= {line["speaker"] for line in lines}
    assert not any(line["partial"] for line in lines)


def test_red_flag_alert_with_its_quote_on_the_candidates_turn(live):
    flags = [e for e in live["record"] if e["type"] == "red_flag"]
    shown = [a for a in live["final"]["alerts"] if a["kind"] == "red_flag"]
    assert flags and len(shown) == len(flags)
    for flag in flags:
        assert flag["id"] in turn_of(flag)["labels"]  # raised during the turn that voices it
        assert any(a["quote"] == f"“{flag['quote']}”" and a["name"] == flag["name"] for a in shown)
    tagged = [line for line in live["final"]["lines"] if "red flag" in line["tags"]]
    assert tagged and all(line["speaker"] == "candidate" for line in tagged)


def test_compliance_alert_prominent_with_lawful_alternative(live):
    alerts = [e for e in live["record"] if e["type"] == "compliance"]
    shown = [a for a in live["final"]["alerts"] if a["kind"] == "compliance"]
    assert alerts and len(shown) == len(alerts)
    for alert in alerts:
        match = next(a for a in shown if a["name"] == alert["name"])
        assert match["quote"] == f"“{alert['quote']}”"
        assert match["alternative"] == f"Ask instead: {alert['alternative']}"
    assert [a["kind"] for a in live["final"]["alerts"]][: len(shown)] == ["compliance"] * len(shown)  # on top
    assert len(live["final"]["alerts"]) == len(shown) + len([e for e in live["record"] if e["type"] == "red_flag"])


def test_suggestions_change_and_coverage_moves(live):
    assert len(live["suggestions"]) >= 4, live["suggestions"]
    assert all(1 <= len(s) <= 3 for s in live["suggestions"])
    assert len(live["coverage"]) >= 3, live["coverage"]


def test_clicks_reach_the_record_and_the_report(live, tmp_path):
    actions = [e for e in live["record"] if e["type"] == "interviewer_action"]
    assert [(a["action"], a["target"]) for a in actions] == [
        ("asked", live["clicked"]), ("asked", live["keyed"]), ("dismiss_alert", live["dismissed_alert"])]
    assert all(isinstance(a["at"], float) for a in actions)
    assert actions[0]["text"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    report = subprocess.run([sys.executable, "-m", "pipeline", "report", str(live["record_path"])], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=60)
    assert report.returncode == 0, report.stderr
    questions = report.stdout.split("## Questions asked")[1].split("## Competencies")[0]
    assert actions[0]["text"].split("?")[0][:40] in questions.replace("\\", "")
    recognised = {e["id"] for e in live["record"] if e["type"] == "question_asked"}
    if actions[0]["target"] not in recognised:
        assert "marked asked in the panel" in questions


def test_an_asked_click_reaches_the_advisor(live):
    """Clicked while the session ran, the question is counted asked by the advisor at once (coverage
    and suggestions follow the click in the record) and never suggested again."""
    record = live["record"]
    i = next(n for n, e in enumerate(record) if e["type"] == "interviewer_action" and e["action"] == "asked")
    target = record[i]["target"]
    assert all(target not in [item["id"] for item in e["items"]] for e in record[i + 1:] if e["type"] == "suggestion")
    if any(e["type"] == "transcript" for e in record[i + 1:]):  # the session was still running
        assert [e["type"] for e in record[i + 1:i + 3]] == ["coverage", "suggestion"]


def test_refusals(live):
    assert live["refusals"] == {"no token": 403, "wrong token": 403, "foreign host": 403, "foreign origin": 403}


def test_no_request_leaves_for_another_host(live):
    assert live["requests"]
    hosts = {urlsplit(url).netloc for url in live["requests"] if not url.startswith("data:")}
    assert hosts == {urlsplit(live["base"]).netloc}, hosts


def test_latency_event_to_screen(live):
    """From the event leaving the pipeline (the sink's wall clock) to its text on screen."""
    ms = sorted(live["latencies"])
    assert len(ms) >= 5, ms
    p50, p95 = statistics.median(ms), ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    print(f"\nweb panel: event sent -> text on screen: p50 {p50:.1f} ms, p95 {p95:.1f} ms over {len(ms)} lines")
    # Measured under the heaviest load: --fast keeps both cores busy with Whisper while two tabs render.
    assert 0 <= p50 < 1000 and p95 < 2500, ms


# -- past sessions, no models -------------------------------------------------------------

HOSTILE = "<img src=x onerror=\"window.pwned=1\">&amp; **bold** _x_ `code` | pipe"


@pytest.fixture(scope="module")
def past(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sessions")
    events = [
        {"type": "status", "state": "ready", "message": "listening", "details": {}},
        {"type": "transcript", "utterance_id": 0, "speaker": "interviewer", "start": 1.0, "end": 3.0,
         "text": "How old are you?", "final": True, "latency_ms": {"total": 300.0}},
        {"type": "compliance", "id": "age", "name": "Age", "speaker": "interviewer", "score": 0.9,
         "quote": "How old are you?", "start": 1.0, "end": 3.0, "alternative": "Are you over eighteen?",
         "latency_ms": {}},
        {"type": "transcript", "utterance_id": 1, "speaker": "candidate", "start": 4.0, "end": 8.0,
         "text": HOSTILE, "final": True, "latency_ms": {"total": 300.0}},
        {"type": "interviewer_action", "action": "asked", "target": "bias-variance-tradeoff", "at": 8.0,
         "text": "How would you explain the bias-variance trade-off?"},
    ]
    (folder / "past.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    (folder / "broken.jsonl").write_text("not json\n{}\n")
    served = Served("serve", str(folder), "--no-browser")
    served.folder = folder
    yield served
    assert served.stop() == 0
    assert "Traceback" not in "".join(served.stderr)


def test_serve_lists_and_replays_past_sessions_read_only(browser, past):
    page = browser.new_page(viewport={"width": 400, "height": 800})
    page.goto(past.url)
    assert "past.jsonl" in page.content() and "broken.jsonl" in page.content()
    page.click("text=panel")
    wait_for(page, "() => document.body.dataset.ended === 'true'")
    state = page_state(page)
    assert [line["text"] for line in state["lines"]] == ["How old are you?", HOSTILE]  # as text, not markup
    assert page.evaluate("window.pwned") is None and not page.query_selector("#transcript img")
    assert state["alerts"][0]["alternative"] == "Ask instead: Are you over eighteen?"
    assert not page.is_visible("#alerts button.dismiss")  # read-only
    status, _ = http(f"{past.base}/s/past.jsonl/action?token={past.token}", {"Content-Type": "application/json",
                     "X-S2Q-Token": past.token}, b'{"action": "asked", "target": "x"}')
    assert status == 409
    page.close()


def test_html_report_is_escaped_and_has_a_timeline(browser, past):
    status, body = http(f"{past.base}/s/past.jsonl/report?token={past.token}")
    assert status == 200
    assert "<svg" in body and "<script" not in body and "<img" not in body
    assert "&lt;img src=x" in body
    assert "marked asked in the panel" in body and "bias-variance trade-off" in body
    page = browser.new_page()
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(f"{past.base}/s/past.jsonl/report?token={past.token}")
    assert page.evaluate("getComputedStyle(document.body).maxWidth") != "none"  # the inline sheet applied
    assert not violations
    page.close()


def test_report_html_cli_writes_a_private_file(past, tmp_path):
    folder = past.folder
    out = tmp_path / "report.html"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "pipeline", "report", "--html", str(folder / "past.jsonl"),
                           "-o", str(out)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert out.read_text().startswith("<!doctype html>") and oct(out.stat().st_mode & 0o777) == "0o600"


def test_taken_port_is_one_line(past):
    port = str(urlsplit(past.base).port)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "pipeline", "serve", str(past.folder), "--no-browser",
                           "--port", port], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.startswith("s2q: error: cannot serve the panel on 127.0.0.1:") and "Traceback" not in proc.stderr


def test_host_elsewhere_warns(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "serve", str(tmp_path), "--no-browser",
                             "--host", "0.0.0.0"], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stderr.readline()
        assert first.startswith("s2q: warning: the panel listens on 0.0.0.0")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)

