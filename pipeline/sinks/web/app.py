"""The panel's HTTP side: the page, its event stream, clicks coming back, and past sessions.

Private by construction: every request needs the session's random token, the Host (and
Origin, when sent) must be loopback (or an IP literal when bound elsewhere) so a DNS
rebinding page cannot read it, and a strict Content-Security-Policy allows only what s2q serves.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import re
import secrets
from dataclasses import dataclass, field
from importlib import resources
from typing import Callable
from urllib.parse import parse_qs, urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from pipeline.events import INTERVIEWER_ACTIONS, Event, InterviewerActionEvent
from pipeline.sinks.web.log import EventLog

COOKIE = "s2q_token"
STATIC = {"app.js": "text/javascript", "app.css": "text/css", "index.html": "text/html"}
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
TARGET = re.compile(r"^[A-Za-z0-9_.:@-]{1,200}$")
KEEPALIVE_S = 15.0


@dataclass
class Panel:
    """One session as the page sees it. `on_action` is None for a past session (read-only)."""

    log: EventLog
    title: str
    on_action: Callable[[Event], None] | None = None
    names: dict[str, dict[str, str]] = field(default_factory=dict)  # stages/competencies/questions: id -> name
    report: Callable[[], str] | None = None  # the HTML report, for past sessions


def static_bytes(name: str) -> bytes:
    return resources.files("pipeline.sinks.web").joinpath("static", name).read_bytes()


def host_allowed(host: str, bound_elsewhere: bool) -> bool:
    """`localhost` or a loopback IP; any IP literal when bound to another interface. Never a DNS name."""
    name = urlsplit(f"//{host}").hostname or ""
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    return address.is_loopback or bound_elsewhere


class Guard:
    """ASGI middleware: token, Host and Origin checks, then security headers on every response."""

    def __init__(self, app, token: str, bound_elsewhere: bool = False) -> None:
        self.app, self.token, self.bound_elsewhere = app, token, bound_elsewhere

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        refusal = self._refusal(scope, headers, query)
        if refusal:
            return await PlainTextResponse(f"forbidden: {refusal}\n", status_code=403,
                                           headers=_security_headers())(scope, receive, send)
        from_query = self.token in query.get("token", [])

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                extra = {k: v for k, v in _security_headers().items()
                         if not any(h[0].decode().lower() == k.lower() for h in message["headers"])}
                if from_query:  # later requests (script, style, stream) carry it without the URL
                    extra["set-cookie"] = f"{COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict"
                message["headers"] = list(message["headers"]) + [(k.encode(), v.encode()) for k, v in extra.items()]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _refusal(self, scope, headers: dict[str, str], query: dict[str, list[str]]) -> str | None:
        host = headers.get("host", "")
        if not host_allowed(host, self.bound_elsewhere):
            return "this server answers only on its loopback address"
        origin = headers.get("origin")
        if origin is not None and origin != f"http://{host}":
            return "cross-origin request"
        offered = query.get("token", []) + [headers.get("x-s2q-token", "")]
        if scope["method"] != "POST":  # a click must name the token itself, not ride on the cookie
            offered.append(_cookie(headers.get("cookie", "")))
        if not any(o and secrets.compare_digest(o, self.token) for o in offered):
            return "missing or wrong token (open the URL s2q printed)"
        return None


def _cookie(header: str) -> str:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == COOKIE:
            return value
    return ""


def _security_headers() -> dict[str, str]:
    return {"content-security-policy": PAGE_CSP, "x-content-type-options": "nosniff",
            "referrer-policy": "no-referrer", "cache-control": "no-store", "x-frame-options": "DENY"}


# -- endpoints ------------------------------------------------------------------------


def _start_seq(request: Request) -> int:
    """Resume after the browser's Last-Event-ID; else from `?from=` (0: the whole session)."""
    last = request.headers.get("last-event-id")
    try:
        return int(last) + 1 if last else max(0, int(request.query_params.get("from", "0")))
    except ValueError:
        return 0


async def event_stream(log: EventLog, seq: int):
    yield "retry: 1000\n\n"
    while True:
        items = log.since(seq)
        for item in items:
            yield f"id: {item['seq']}\ndata: {json.dumps(item, ensure_ascii=False)}\n\n"
            seq = item["seq"] + 1
        if items:
            continue
        if log.closed:
            yield "event: end\ndata: {}\n\n"
            return
        await log.wait(seq, KEEPALIVE_S)
        if not log.since(seq) and not log.closed:
            yield ": keep-alive\n\n"


def _question_text(log: EventLog, qid: str) -> str | None:
    for event in reversed(log.events()):
        for item in event.get("items") or [] if event.get("type") == "suggestion" else []:
            if isinstance(item, dict) and item.get("id") == qid:
                return item.get("text")
    return None


def panel_routes(prefix: str, panel_of: Callable[[Request], Panel]) -> list[Route]:
    """The page, its info, its event stream and its click endpoint, under `prefix`."""

    async def page(request: Request) -> Response:
        panel_of(request)
        return HTMLResponse(static_bytes("index.html"))

    async def info(request: Request) -> Response:
        panel = panel_of(request)
        return JSONResponse({"title": panel.title, "live": panel.on_action is not None, "names": panel.names,
                             "report": panel.report is not None})

    async def events(request: Request) -> Response:
        panel = panel_of(request)
        return StreamingResponse(event_stream(panel.log, _start_seq(request)), media_type="text/event-stream",
                                 headers={"x-accel-buffering": "no"})

    async def action(request: Request) -> Response:
        panel = panel_of(request)
        if panel.on_action is None:
            return PlainTextResponse("this session is over: it is read-only\n", status_code=409)
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return PlainTextResponse("expected application/json\n", status_code=415)
        try:
            body = json.loads(await request.body())
            kind, target = body["action"], body["target"]
        except (ValueError, KeyError, TypeError):
            return PlainTextResponse("expected {\"action\": ..., \"target\": ...}\n", status_code=400)
        if kind not in INTERVIEWER_ACTIONS or not isinstance(target, str) or not TARGET.match(target):
            return PlainTextResponse(f"action must be one of {', '.join(INTERVIEWER_ACTIONS)} with an id\n",
                                     status_code=400)
        text = None if kind == "dismiss_alert" else _question_text(panel.log, target)
        event = InterviewerActionEvent(action=kind, target=target, at=round(panel.log.audio_time(), 3), text=text)
        await run_in_threadpool(panel.on_action, event)
        return JSONResponse({"ok": True})

    async def report(request: Request) -> Response:
        from pipeline.report.html import REPORT_CSS  # lazy: keeps pydantic off start-up

        panel = panel_of(request)
        if panel.report is None:
            return PlainTextResponse("no report for a session still running\n", status_code=404)
        html = await run_in_threadpool(panel.report)
        digest = base64.b64encode(hashlib.sha256(REPORT_CSS.encode()).digest()).decode()
        csp = f"default-src 'none'; style-src 'sha256-{digest}'; img-src data:; base-uri 'none'; frame-ancestors 'none'"
        return HTMLResponse(html, headers={"content-security-policy": csp})

    return [Route(f"{prefix}/", page), Route(f"{prefix}/info", info), Route(f"{prefix}/events", events),
            Route(f"{prefix}/action", action, methods=["POST"]), Route(f"{prefix}/report", report)]


async def static(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in STATIC:
        return PlainTextResponse("not found\n", status_code=404)
    return Response(static_bytes(name), media_type=STATIC[name])


def live_app(panel: Panel, token: str, bound_elsewhere: bool = False) -> Guard:
    """The panel of the session running now, at `/`."""
    routes = panel_routes("", lambda request: panel) + [Route("/static/{name}", static)]
    return Guard(Starlette(routes=routes), token, bound_elsewhere)


def past_app(panels: Callable[[], dict[str, Panel]], list_page: Callable[[str], str], token: str,
             bound_elsewhere: bool = False) -> Guard:
    """Past sessions: a list at `/`, each one's page at `/s/NAME/` and its report at `/s/NAME/report`."""
    from starlette.exceptions import HTTPException

    def panel_of(request: Request) -> Panel:
        found = panels().get(request.path_params["name"])
        if found is None:
            raise HTTPException(404, "no such session")
        return found

    async def index(request: Request) -> Response:
        return HTMLResponse(await run_in_threadpool(list_page, token))

    routes = [Route("/", index), Route("/static/{name}", static)] + panel_routes("/s/{name}", panel_of)
    return Guard(Starlette(routes=routes), token, bound_elsewhere)

