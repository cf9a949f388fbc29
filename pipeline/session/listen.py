"""`s2q listen`: live sources (mic, call, or one shared input) through the engine."""

from __future__ import annotations

import sys
from typing import Callable

from pipeline.audio.recorder import WavTee
from pipeline.audio.sources import MicrophoneSource
from pipeline.errors import DeviceError
from pipeline.session.build import build_engine
from pipeline.session.config import PARTIAL_EVERY_S, ListenConfig, SessionConfig
from pipeline.session.run import TerminalFactory, open_record, session_start, view_sinks
from pipeline.session.web import run_with_panel
from pipeline.sinks import default_record_path

CONSENT_REMINDER = (
    "Reminder: tell the candidate that this call is transcribed locally on this computer "
    "(nothing leaves it). Hide this with --no-consent-reminder."
)


def listen(config: ListenConfig, terminal_factory: TerminalFactory | None = None,
           announce: Callable[[str], None] = print) -> int:
    session = config.session
    sources = []
    if config.mic is not None:
        sources.append(MicrophoneSource(config.mic, ["interviewer"]))
    if config.call is not None:
        sources.append(MicrophoneSource(config.call, ["candidate"]))
    if config.input is not None:
        sources.append(MicrophoneSource(config.input, session.channels))
    if not sources:
        raise DeviceError("no input chosen: use --mic DEVICE and/or --call DEVICE, or --input DEVICE "
                          "(run `s2q devices` to list inputs)")
    if session.output.record is None:
        session.output.record = default_record_path()
    if config.save_audio:
        stem = session.output.record.with_suffix("")
        sources = [WavTee(s, stem) for s in sources]
    if config.consent_reminder:
        announce(CONSENT_REMINDER)
    record = open_record(session.output)
    announce(f"Recording events to {session.output.record}")
    devices = {"mic": config.mic, "call": config.call, "input": config.input}
    source = ", ".join(f"{kind} {name}" for kind, name in devices.items() if name is not None)
    return run_with_panel(session, "live interview", lambda: build_engine(sources, session, "live"),
                          record + view_sinks(session.output, terminal_factory), session_start(session, source),
                          announce)


def handle_listen(args) -> int:
    from pipeline.sinks.terminal import terminal_view  # lazy: keeps rich off start-up

    partial_every_s = 0.0 if args.no_partials else PARTIAL_EVERY_S
    config = ListenConfig(mic=args.mic, call=args.call, input=args.input, save_audio=args.save_audio,
                          consent_reminder=not args.no_consent_reminder,
                          session=SessionConfig.from_args(args, partial_every_s=partial_every_s))
    return listen(config, terminal_factory=lambda: terminal_view(args.role, "live"),
                  announce=lambda line: print(line, file=sys.stderr, flush=True))
