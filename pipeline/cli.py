"""`s2q` command line: parses arguments, builds a config, calls the runner."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pipeline.errors import S2QError
from pipeline.events import SPEAKERS

# Run time is offline: libraries that could reach a model hub must not try.
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def _channels(value: str) -> list[str]:
    names = [v.strip() for v in value.split(",") if v.strip()]
    if not 1 <= len(names) <= 2 or any(n not in SPEAKERS for n in names):
        raise argparse.ArgumentTypeError(
            f"expected one or two of {', '.join(SPEAKERS)} separated by a comma, e.g. interviewer,candidate"
        )
    return names


def _add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="tiny.en", help="Whisper model name from models/manifest.toml, or a folder")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"], help="where Whisper runs")
    p.add_argument("--compute-type", default="default", help="CTranslate2 compute type (int8, float16, ...)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="s2q", description="Offline interview listener.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("replay", help="replay a recorded interview through the live pipeline")
    p.add_argument("file", type=Path, help="audio file (wav, flac, mp3, ogg, ...)")
    p.add_argument("--channels", type=_channels, default=["unknown"],
                   help="speaker of each channel, e.g. interviewer,candidate for a stereo file")
    p.add_argument("--fast", action="store_true", help="as fast as possible instead of real-time pace")
    p.add_argument("--jsonl", action="store_true", help="write events as JSON lines to stdout")
    p.add_argument("--record", type=Path, help="also append every event to this JSONL file")
    _add_model_args(p)

    sub.add_parser("devices", help="list audio input devices")
    return parser


def main(argv: list[str] | None = None) -> int:
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except S2QError as exc:
        print(f"s2q: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:
        return 0


def _dispatch(args) -> int:
    if args.command == "replay":
        from pipeline.audio.transcriber import TranscriberOptions
        from pipeline.config import OutputOptions, ReplayConfig
        from pipeline.runner import replay
        from pipeline.sinks.terminal import TerminalSink

        config = ReplayConfig(
            path=args.file,
            channels=args.channels,
            fast=args.fast,
            transcriber=TranscriberOptions(model=args.model, device=args.device, compute_type=args.compute_type),
            output=OutputOptions(jsonl=args.jsonl, record=args.record),
        )
        return replay(config, terminal_factory=TerminalSink)
    if args.command == "devices":
        from pipeline.audio.sources import list_input_devices

        devices = list_input_devices()
        if not devices:
            print("no audio input devices found", file=sys.stderr)
            return 1
        for d in devices:
            mark = "  (loopback/monitor: call audio)" if d["loopback"] else ""
            print(f"{d['index']:>3}  {d['name']}  [{d['channels']} ch, {d['default_samplerate']:.0f} Hz]{mark}")
        return 0
    raise S2QError(f"unknown command {args.command}")
