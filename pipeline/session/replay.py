"""`s2q replay`: a recorded file through the same path live listening uses."""

from __future__ import annotations

from pipeline.session.config import ReplayConfig, SessionConfig
from pipeline.session.run import (
    TerminalFactory,
    build_engine,
    open_record,
    run_session,
    session_start,
    view_sinks,
)


def replay(config: ReplayConfig, terminal_factory: TerminalFactory | None = None) -> int:
    from pipeline.audio.sources import FileSource
    from pipeline.engine import EngineOptions

    session = config.session
    source = FileSource(config.path, speakers=session.channels, realtime=not config.fast)
    record = open_record(session.output)
    options = EngineOptions(backpressure=config.fast, partial_every_s=session.partial_every_s,
                            segmenter=session.segmenter)
    engine = build_engine([source], session, options)
    return run_session(engine, record + view_sinks(session.output, terminal_factory),
                       session_start(session, config.path.name))


def handle_replay(args) -> int:
    from pipeline.sinks.terminal import terminal_view

    config = ReplayConfig(path=args.file, fast=args.fast,
                          session=SessionConfig.from_args(args, advise=not args.no_advice))
    return replay(config, terminal_factory=lambda: terminal_view(args.role, args.file.name))
