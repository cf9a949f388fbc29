"""The panel's defences, header by header: the live panel (served in-process, no models) and
`s2q serve` (the real command). tests/test_web.py checks the refusals a browser sees; this checks
what keeps other pages out: the Content-Security-Policy, framing, nosniff, the cookie's flags,
and that every POST names the token itself (the cookie alone is what a forged request carries).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from test_web import Served

# What the page needs and nothing more: scripts, styles and requests from s2q itself, no framing.
PAGE_POLICY = {"default-src": {"'none'"}, "script-src": {"'self'"}, "style-src": {"'self'"},
               "img-src": {"'self'", "data:"}, "connect-src": {"'self'"}, "base-uri": {"'none'"},
               "form-action": {"'none'"}, "frame-ancestors": {"'none'"}}


def request(url: str, method: str = "GET", headers: dict | None = None, data: bytes | None = None):
    req = urllib.request.Request(url, method=method, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            if "/events" in url:
                return response.status, response.headers, ""  # a stream: the headers are enough
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read().decode()


def policy(headers) -> dict[str, set[str]]:
    values = headers.get_all("content-security-policy") or []
    assert len(values) == 1, values
    directives = {}
    for part in values[0].split(";"):
        name, *sources = part.split()
        directives[name] = set(sources)
    return directives


def assert_defended(headers, csp: dict[str, set[str]] | None = PAGE_POLICY) -> None:
    if csp is not None:
        assert policy(headers) == csp
    assert headers.get("x-content-type-options") == "nosniff"
    assert headers.get("x-frame-options") == "DENY"
    assert headers.get("referrer-policy") == "no-referrer"
    assert headers.get("cache-control") == "no-store"


def assert_cookie(headers, token: str) -> None:
    cookies = headers.get_all("set-cookie") or []
    assert len(cookies) == 1, cookies
    name_value, *flags = [part.strip() for part in cookies[0].split(";")]
    assert name_value == f"s2q_token={token}"
    assert {f.lower() for f in flags} == {"path=/", "httponly", "samesite=strict"}


@pytest.fixture(scope="module")
def live():
    """The live panel of a session with one suggestion, on a real server; clicks collected."""
    from pipeline.sinks.web.app import Panel, live_app
    from pipeline.sinks.web.log import EventLog
    from pipeline.sinks.web.server import WebServer

    log = EventLog()
    log.append({"type": "suggestion", "items": [{"id": "q1", "text": "Why?", "reason": "r"}], "start": 0.0,
                "end": 1.0}, sent_at=0.0)
    clicks: list = []
    panel = Panel(log=log, title="t", on_action=clicks.append)
    server = WebServer(lambda token, elsewhere: live_app(panel, token, elsewhere)).start()
    server.clicks = clicks
    server.base = f"http://127.0.0.1:{server.port}"
    yield server
    log.close()
    server.stop()


@pytest.mark.parametrize("path", ["/", "/info", "/events", "/static/app.js", "/static/app.css"])
def test_live_panel_headers_with_the_token(live, path):
    status, headers, _ = request(f"{live.base}{path}?token={live.token}")
    assert status == 200
    assert_defended(headers)
    assert_cookie(headers, live.token)  # set when the URL carries the token, for the page's own requests


def test_live_panel_cookie_then_serves_without_the_url_token(live):
    status, headers, _ = request(f"{live.base}/info", headers={"Cookie": f"s2q_token={live.token}"})
    assert status == 200
    assert_defended(headers)
    assert not headers.get_all("set-cookie")  # not set again from a cookie


@pytest.mark.parametrize("headers", [{}, {"Cookie": "s2q_token=wrong"}, {"X-S2Q-Token": "wrong"}])
def test_refusals_carry_the_headers_too(live, headers):
    status, got, body = request(f"{live.base}/", headers=headers)
    assert status == 403 and body.startswith("forbidden")
    assert_defended(got)
    assert not got.get_all("set-cookie")


def click(base: str, token: str, path: str, how: str) -> int:
    headers = {"Content-Type": "application/json"}
    url = f"{base}{path}"
    if how == "cookie":
        headers["Cookie"] = f"s2q_token={token}"
    elif how == "header":
        headers["X-S2Q-Token"] = token
    elif how == "query":
        url += f"?token={token}"
    data = json.dumps({"action": "asked", "target": "q1"}).encode()
    return request(url, "POST", headers, data)[0]


def test_post_needs_the_token_itself_not_the_cookie(live):
    """A page on another site can make the browser send the cookie; it cannot know the token."""
    assert click(live.base, live.token, "/action", "cookie") == 403
    assert click(live.base, live.token, "/action", "none") == 403
    assert live.clicks == []
    assert click(live.base, live.token, "/action", "header") == 200  # what the page's script sends
    assert [(c.action, c.target, c.text) for c in live.clicks] == [("asked", "q1", "Why?")]


# -- `s2q serve`: the real command over a folder with one record ---------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve-headers")
    (folder / "past.jsonl").write_text(json.dumps(
        {"type": "transcript", "utterance_id": 0, "speaker": "interviewer", "start": 1.0, "end": 3.0,
         "text": "How old are you?", "final": True, "latency_ms": {}}) + "\n")
    server = Served("serve", str(Path(folder)), "--no-browser")
    yield server
    assert server.stop() == 0


@pytest.mark.parametrize("path", ["/", "/s/past.jsonl/", "/s/past.jsonl/info", "/s/past.jsonl/events",
                                  "/static/app.js"])
def test_serve_headers(served, path):
    status, headers, _ = request(f"{served.base}{path}?token={served.token}")
    assert status == 200
    assert_defended(headers)
    assert_cookie(headers, served.token)


def test_serve_report_has_its_own_strict_policy(served):
    status, headers, body = request(f"{served.base}/s/past.jsonl/report?token={served.token}")
    assert status == 200 and "How old are you?" in body
    csp = policy(headers)
    assert csp["default-src"] == {"'none'"} and csp["frame-ancestors"] == {"'none'"}
    assert csp["base-uri"] == {"'none'"} and "script-src" not in csp  # no script at all
    (style,) = csp["style-src"]
    assert style.startswith("'sha256-")  # the one inline sheet, nothing else
    assert_defended(headers, csp=None)


def test_serve_post_needs_the_token_itself(served):
    assert click(served.base, served.token, "/s/past.jsonl/action", "cookie") == 403
    assert click(served.base, served.token, "/s/past.jsonl/action", "none") == 403
    assert click(served.base, served.token, "/s/past.jsonl/action", "header") == 409  # read-only, but let in
    port = urlsplit(served.base).port
    assert request(f"{served.base}/?token={served.token}", headers={"Host": f"evil.example:{port}"})[0] == 403


def test_the_posts_tested_are_every_post_there_is():
    """A new POST route must be added to the cookie-only refusals above."""
    from pipeline.sinks.web.app import Panel, live_app, past_app
    from pipeline.sinks.web.log import EventLog

    def posts(guard) -> set[str]:
        return {route.path for route in guard.app.routes if "POST" in (getattr(route, "methods", None) or ())}

    assert posts(live_app(Panel(log=EventLog(), title="t"), "token")) == {"/action"}
    assert posts(past_app(dict, lambda token: "", "token")) == {"/s/{name}/action"}
