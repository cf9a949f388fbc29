"""uvicorn on a thread: the panel is served while the pipeline runs on the main thread."""

from __future__ import annotations

import ipaddress
import logging
import secrets
import socket
import sys
import threading
import time

from pipeline.errors import WebServerError

LOOPBACK = "127.0.0.1"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def new_token() -> str:
    return secrets.token_urlsafe(24)


class WebServer:
    """Binds first (a taken port is a one-line error before any model loads), then serves on a thread."""

    def __init__(self, app_factory, host: str = LOOPBACK, port: int = 0, token: str | None = None,
                 warn=lambda line: print(line, file=sys.stderr)) -> None:
        self.token = token or new_token()
        self.host = host
        self.bound_elsewhere = not is_loopback(host)
        if self.bound_elsewhere:
            warn(f"s2q: warning: the panel listens on {host}, not only on this computer: anyone who can reach "
                 "this address and learns the URL can read the interview")
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.socket.bind((host, port))
        except (OSError, OverflowError) as exc:
            self.socket.close()
            why = getattr(exc, "strerror", None) or str(exc)
            raise WebServerError(f"cannot serve the panel on {host}:{port}: {why}") from None
        self.port = self.socket.getsockname()[1]
        self.app = app_factory(self.token, self.bound_elsewhere)
        self._server = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        shown = LOOPBACK if self.host in ("0.0.0.0", "::") else self.host
        shown = f"[{shown}]" if ":" in shown else shown
        return f"http://{shown}:{self.port}/?token={self.token}"

    def start(self) -> "WebServer":
        import uvicorn

        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off",
                                timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        logging.getLogger("uvicorn.error").setLevel(logging.ERROR)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self.socket]},
                                        name="web", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if not self._server.started:
            raise WebServerError("the panel's web server did not start")
        return self

    def stop(self) -> None:
        """Asks uvicorn to stop (it closes the socket it serves); open streams get a second, then go."""
        if self._thread is None:
            self.socket.close()
            return
        self._server.should_exit = True
        self._thread.join(timeout=3)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout=3)

    def wait(self) -> None:
        """Serves until Ctrl-C."""
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(timeout=0.5)
        except KeyboardInterrupt:
            pass
