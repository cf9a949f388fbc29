"""`s2q replay`: a recorded file through the same path live listening uses."""

from __future__ import annotations

import sys
from typing import Callable

from pipeline.audio.sources import FileSource
from pipeline.session.build import build_engine
from pipeline.session.config import ReplayConfig, SessionConfig
from pipeline.session.run import TerminalFactory, open_record, session_start, view_sinks
from pipeline.session.web import run_with_panel


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def replay(config: ReplayConfig, terminal_factory: TerminalFactory | None = None,
           announce: Callable[[str], None] = _stderr) -> int:
    session = config.session
    source = FileSource(config.path, speakers=session.channels, realtime=not config.fast)
    record = open_record(session.output)
    mode = "fast" if config.fast else "paced"
    return run_with_panel(session, config.path.name, lambda: build_engine([source], session, mode),
                          record + view_sinks(session.output, terminal_factory),
                          session_start(session, config.path.name), announce)


def handle_replay(args) -> int:
    from pipeline.sinks.terminal import terminal_view  # lazy: keeps rich off start-up

    config = ReplayConfig(path=args.file, fast=args.fast,
                          session=SessionConfig.from_args(args, advise=not args.no_advice))
    return replay(config, terminal_factory=lambda: terminal_view(args.role, args.file.name))
