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
    p.add_argument("--beam-size", type=int, default=1,
                   help="Whisper beam size: 1 (greedy) is fastest; 5 is more accurate and about 25%% slower")


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

    p.add_argument("--role", default="ml-engineer", help="question bank role (see `s2q bank roles`)")
    p.add_argument("--bank", type=Path, help="question bank root folder (default: the bundled one)")
    p.add_argument("--no-advice", action="store_true", help="transcript only: no matching or suggestions")

    p = sub.add_parser("listen", help="listen to a live call: your mic and the call's audio")
    p.add_argument("--mic", metavar="DEVICE", help="your microphone (the interviewer): name or index")
    p.add_argument("--call", metavar="DEVICE", help="the call's audio as an input, e.g. a monitor/loopback device")
    p.add_argument("--input", metavar="DEVICE", help="one device carrying both voices")
    p.add_argument("--channels", type=_channels, default=["unknown"],
                   help="with --input: speaker of each channel, e.g. interviewer,candidate")
    p.add_argument("--jsonl", action="store_true", help="write events as JSON lines to stdout")
    p.add_argument("--record", type=Path, help="session record (default: a new file in your data folder)")
    p.add_argument("--save-audio", action="store_true", help="also keep the audio, next to the record")
    p.add_argument("--no-partials", action="store_true", help="only final transcripts (less CPU)")
    p.add_argument("--no-consent-reminder", action="store_true", help="don't print the consent reminder")
    p.add_argument("--role", default="ml-engineer", help="question bank role (see `s2q bank roles`)")
    p.add_argument("--bank", type=Path, help="question bank root folder (default: the bundled one)")
    _add_model_args(p)

    sub.add_parser("devices", help="list audio input devices")

    p = sub.add_parser("bench", help="latency per stage on this machine, against the budget")
    p.add_argument("audio", nargs="*", help="files (FILE or FILE:interviewer,candidate); default: demo + real speech")
    p.add_argument("--json", type=Path, help="write the results as JSON")
    p.add_argument("--markdown", type=Path, help="write a Markdown summary")
    p.add_argument("--plot", type=Path, help="write a PNG of the latency per stage (needs matplotlib)")
    p.add_argument("--out", type=Path, help="folder for bench.json, bench.md and bench.png")
    p.add_argument("--runs", type=int, default=3, help="repeat the measurement; medians are reported")
    p.add_argument("--paced", action="store_true", help="also replay the demo at real-time pace")
    p.add_argument("--check", action="store_true", help="exit 1 when over budget")
    p.add_argument("--no-real-speech", action="store_true", help="skip the real-speech set")
    p.add_argument("--budget", type=Path, help="budget file (default: benchmarks/budget.toml)")

    p = sub.add_parser("report", help="the after-call Markdown report from a session record")
    p.add_argument("session", type=Path, help="session record (.jsonl) from `s2q replay --record` or `s2q listen`")
    p.add_argument("-o", "--output", type=Path, help="write the report to this file (readable by you only)")
    p.add_argument("--role", default="ml-engineer", help="question bank role, for stage and competency names")
    p.add_argument("--bank", type=Path, help="question bank root folder (default: the bundled one)")

    p = sub.add_parser("match", help="what the listener matches for a sentence")
    p.add_argument("text", nargs="?", help="the sentence; without it, one sentence per stdin line")
    p.add_argument("--speaker", required=True, choices=["interviewer", "candidate", "unknown"])
    p.add_argument("--jsonl", action="store_true", help="one JSON object per line")
    p.add_argument("--role", default="ml-engineer")
    p.add_argument("--bank", type=Path, help="question bank root folder")

    p = sub.add_parser("bank", help="question bank tools for content authors")
    bank_sub = p.add_subparsers(dest="bank_command", required=True)
    for name, text in (("validate", "check the bank: schema and cross-references"),
                       ("build", "validate, then embed and index the bank (cached)"),
                       ("search", "what the listener would match for a sentence, with scores and thresholds"),
                       ("dupes", "near-duplicate questions, and examples that collide across entries"),
                       ("test", "every example must match its own entry and no other (held out)"),
                       ("stats", "entries per stage, competency and difficulty; coverage gaps"),
                       ("new", "write a commented template: question, red-flag or role")):
        b = bank_sub.add_parser(name, help=text)
        b.add_argument("--bank", type=Path, help="a role folder, or a bank root holding role folders")
        b.add_argument("--role", help="only this role")
    b = bank_sub.choices["search"]
    b.add_argument("text", help="the sentence, in quotes")
    b.add_argument("--speaker", default="unknown", choices=["interviewer", "candidate", "unknown"])
    b.add_argument("--top", type=int, default=3, help="candidates shown per kind")
    b = bank_sub.choices["dupes"]
    b.add_argument("--threshold", type=float, default=0.9, help="similarity (0-1) from which phrases collide")
    b = bank_sub.choices["test"]
    b.add_argument("--max-miss", type=float, metavar="PCT", help="percent of each group that may miss "
                   "(default: per group, see docs/authoring.md); 0 for strict")
    b.add_argument("--folds", type=int, default=5, help="cross-validation folds for the classifiers")
    bank_sub.choices["stats"].add_argument("--json", action="store_true", help="as JSON")
    b = bank_sub.choices["new"]
    b.add_argument("kind", choices=["question", "red-flag", "role"])
    b.add_argument("--id", help="the new entry's id (for a role: the folder name)")
    b.add_argument("--stage", help="for a question: the stage it belongs to")
    b = bank_sub.add_parser("schema", help="write the bank's JSON Schema (for editors)")
    b.add_argument("-o", "--output", type=Path)
    b = bank_sub.add_parser("roles", help="list the roles in the bank")
    b.add_argument("--bank", type=Path)
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
        from pipeline.sinks.terminal import terminal_view

        config = ReplayConfig(
            path=args.file,
            channels=args.channels,
            fast=args.fast,
            transcriber=TranscriberOptions(model=args.model, device=args.device, compute_type=args.compute_type,
                                           beam_size=args.beam_size),
            output=OutputOptions(jsonl=args.jsonl, record=args.record),
            role=args.role,
            bank_root=args.bank,
            advise=not args.no_advice,
        )
        return replay(config, terminal_factory=lambda: terminal_view(args.role, args.file.name))
    if args.command == "listen":
        from pipeline.audio.transcriber import TranscriberOptions
        from pipeline.config import ListenConfig, OutputOptions
        from pipeline.runner import listen
        from pipeline.sinks.terminal import terminal_view

        config = ListenConfig(
            mic=args.mic, call=args.call, input=args.input, channels=args.channels,
            save_audio=args.save_audio, consent_reminder=not args.no_consent_reminder,
            partial_every_s=0.0 if args.no_partials else 1.5,
            role=args.role, bank_root=args.bank,
            transcriber=TranscriberOptions(model=args.model, device=args.device, compute_type=args.compute_type,
                                           beam_size=args.beam_size),
            output=OutputOptions(jsonl=args.jsonl, record=args.record),
        )
        return listen(config, terminal_factory=lambda: terminal_view(args.role, "live"),
                      announce=lambda line: print(line, file=sys.stderr))
    if args.command == "report":
        from pipeline.report import load_session, render_report
        from pipeline.retrieval.bank import load_bank

        text = render_report(load_session(args.session), load_bank(args.role, args.bank))
        if args.output:
            # Like the record itself: a report of an interview is for the interviewer only.
            args.output.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            print(f"wrote {args.output}")
        else:
            sys.stdout.write(text)
        return 0
    if args.command == "bench":
        from pipeline.bench.run import DEFAULT_BUDGET, BenchOptions, run_bench

        return run_bench(BenchOptions(
            audio=args.audio, real_speech=not args.no_real_speech, runs=args.runs, paced=args.paced,
            check=args.check, json_path=args.json, markdown_path=args.markdown, plot_path=args.plot,
            out=args.out, budget=args.budget or DEFAULT_BUDGET,
        ))
    if args.command == "devices":
        from pipeline.audio.sources import list_input_devices, list_pulse_sources

        devices = list_input_devices()
        if not devices:
            print("s2q: error: no audio input devices found (see README: getting the call's audio)", file=sys.stderr)
            return 1
        print("Inputs (use the index or name with --mic, --call or --input):")
        for d in devices:
            mark = "  <- loopback/monitor: call audio" if d["loopback"] else ""
            print(f"{d['index']:>3}  {d['name']}  [{d['channels']} ch, {d['default_samplerate']:.0f} Hz]{mark}")
        sources = list_pulse_sources()
        if sources:
            print("\nPulseAudio/PipeWire sources, recorded by the `pulse` input "
                  "(choose with: pactl set-default-source NAME):")
            for src in sources:
                mark = "  <- monitor: call audio" if src["monitor"] else ""
                print(f"     {'*' if src['default'] else ' '} {src['name']}{mark}")
        return 0
    if args.command == "match":
        from pipeline.authoring.commands import handle_match

        return handle_match(args)
    if args.command == "bank":
        from pipeline.authoring.commands import handle_bank

        return handle_bank(args)
    raise S2QError(f"unknown command {args.command}")
