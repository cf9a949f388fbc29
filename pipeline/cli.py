"""`s2q` command line: parsing only. Each subcommand's handler lives with its feature and is
imported when the subcommand runs (`set_defaults(handler="module:function")`), so start-up
loads nothing the command does not use."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from pipeline.audio.end_of_turn import TURN_END_MODES
from pipeline.audio.language import CHOICES as LANGUAGE_CHOICES
from pipeline.errors import S2QError
from pipeline.events import SPEAKERS, UNKNOWN
from pipeline.retrieval import DEFAULT_ROLE


def _channels(value: str) -> list[str]:
    names = [v.strip() for v in value.split(",") if v.strip()]
    if not 1 <= len(names) <= 2 or any(n not in SPEAKERS for n in names):
        raise argparse.ArgumentTypeError(
            f"expected one or two of {', '.join(SPEAKERS)} separated by a comma, e.g. interviewer,candidate"
        )
    return names


def _bank_parent(role_help: str = "question bank role (see `s2q bank roles`)") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--role", default=DEFAULT_ROLE, help=role_help)
    p.add_argument("--bank", type=Path, help="question bank root folder (default: the bundled one)")
    return p


def _model_parent() -> argparse.ArgumentParser:
    """Whisper model options: replay, listen and batch."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--model", default="", help="Whisper model name (pipeline/assets/manifest.toml), or a folder "
                   "(default: tiny.en for --language en, the multilingual base otherwise)")
    _language_option(p)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"], help="where Whisper runs")
    p.add_argument("--compute-type", default="default", help="CTranslate2 compute type (int8, float16, ...)")
    p.add_argument("--beam-size", type=int, default=1,
                   help="Whisper beam size: 1 (greedy) is fastest; 5 is more accurate and about 25%% slower")
    return p


def _language_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--language", default="en", choices=LANGUAGE_CHOICES,
                   help="what is spoken: en (default), it, or auto (detected once per speaker from their first "
                        "seconds, written to the record); it and auto need a multilingual Whisper (the `base` extra)")


def _session_parent() -> argparse.ArgumentParser:
    """What replay and listen share: output (JSON lines, the web panel) and Whisper model options."""
    p = argparse.ArgumentParser(add_help=False, parents=[_model_parent()])
    p.add_argument("--jsonl", action="store_true", help="write events as JSON lines to stdout")
    p.add_argument("--second-pass-model", default="", metavar="MODEL",
                   help="Whisper model that revises finals when the CPU is idle (default: the same as --model; "
                        "`base` hears long turns better, see benchmarks/README.md)")
    p.add_argument("--end-of-turn", default="model", choices=TURN_END_MODES,
                   help="what ends a turn before the hangover: `model` (default) the end-of-turn model with the "
                        "text, `rules` the text alone (benchmarks/turn_end.py compares them)")
    p.add_argument("--web", action="store_true", help="show the session in a browser panel (local, private URL)")
    _web_options(p)
    p.add_argument("--exit-when-done", action="store_true",
                   help="with --web: stop serving when the session ends (default: until Ctrl-C)")
    return p


def _web_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-browser", action="store_true", help="print the panel's URL without opening a browser")
    p.add_argument("--host", default="127.0.0.1",
                   help="interface to serve on (default: this computer only; another one is warned about)")
    p.add_argument("--port", type=int, default=0, help="port to serve on (default: a free one)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="s2q", description="Offline interview listener.")
    sub = parser.add_subparsers(dest="command", required=True)
    bank, session = _bank_parent(), _session_parent()

    p = sub.add_parser("replay", parents=[session, bank], help="replay a recorded interview through the live pipeline")
    p.set_defaults(handler="pipeline.session.replay:handle_replay")
    p.add_argument("file", type=Path, help="audio file (wav, flac, mp3, ogg, ...)")
    p.add_argument("--channels", type=_channels, default=[UNKNOWN],
                   help="speaker of each channel, e.g. interviewer,candidate for a stereo file")
    p.add_argument("--fast", action="store_true", help="as fast as possible instead of real-time pace")
    p.add_argument("--record", type=Path, help="also append every event to this JSONL file")
    p.add_argument("--no-advice", action="store_true", help="transcript only: no matching or suggestions")

    p = sub.add_parser("listen", parents=[session, bank], help="listen to a live call: your mic and the call's audio")
    p.set_defaults(handler="pipeline.session.listen:handle_listen")
    p.add_argument("--mic", metavar="DEVICE", help="your microphone (the interviewer): name or index")
    p.add_argument("--call", metavar="DEVICE", help="the call's audio as an input, e.g. a monitor/loopback device")
    p.add_argument("--input", metavar="DEVICE", help="one device carrying both voices")
    p.add_argument("--channels", type=_channels, default=[UNKNOWN],
                   help="with --input: speaker of each channel, e.g. interviewer,candidate")
    p.add_argument("--record", type=Path, help="session record (default: a new file in your data folder)")
    p.add_argument("--save-audio", action="store_true", help="also keep the audio, next to the record")
    p.add_argument("--no-partials", action="store_true", help="only final transcripts (less CPU)")
    p.add_argument("--no-consent-reminder", action="store_true", help="don't print the consent reminder")

    p = sub.add_parser("devices", help="list audio input devices")
    p.set_defaults(handler="pipeline.audio.devices:handle_devices")

    p = sub.add_parser("doctor", help="what this installation has (models, bank, audio, extras) and how to fix gaps")
    p.set_defaults(handler="pipeline.doctor:handle_doctor")

    p = sub.add_parser("bench", help="latency per step on this machine, against the budget")
    p.set_defaults(handler="pipeline.bench.run:handle_bench")
    p.add_argument("audio", nargs="*", help="files (FILE or FILE:interviewer,candidate); default: demo + real speech")
    p.add_argument("--json", type=Path, help="write the results as JSON")
    p.add_argument("--markdown", type=Path, help="write a Markdown summary")
    p.add_argument("--plot", type=Path, help="write a PNG of the latency per step (needs matplotlib)")
    p.add_argument("--out", type=Path, help="folder for bench.json, bench.md and bench.png")
    p.add_argument("--runs", type=int, default=3, help="repeat the measurement; medians are reported")
    p.add_argument("--paced", action="store_true", help="also replay the demo at real-time pace")
    p.add_argument("--check", action="store_true", help="exit 1 when over budget")
    p.add_argument("--no-real-speech", action="store_true", help="skip the real-speech set")
    p.add_argument("--levers", action="store_true",
                   help="the hearing levers side by side (WER, end of speech, CPU) instead of the step budget")
    p.add_argument("--budget", type=Path, help="budget file (default: benchmarks/budget.toml)")
    _language_option(p)
    p.add_argument("--role", default=DEFAULT_ROLE, help="question bank role whose matching is timed "
                   "(e.g. ml-engineer-it with --language it)")

    p = sub.add_parser("report", parents=[_bank_parent("question bank role, for stage and competency names")],
                       help="the after-call Markdown report from a session record")
    p.set_defaults(handler="pipeline.report.command:handle_report")
    p.add_argument("record", type=Path, help="session record (.jsonl) from `s2q replay --record` or `s2q listen`")
    p.add_argument("--session", dest="session_id", metavar="ID",
                   help="which session of the record to report (default: the last; the report lists the others)")
    p.add_argument("-o", "--output", type=Path, help="write the report to this file (readable by you only)")
    p.add_argument("--html", action="store_true", help="a self-contained HTML page with a timeline, not Markdown")

    p = sub.add_parser("serve", parents=[_bank_parent("question bank role, for stage and competency names")],
                       help="past session records in the browser: each one's panel and report")
    p.set_defaults(handler="pipeline.sinks.web.serve:handle_serve")
    p.add_argument("folder", nargs="?", type=Path, help="folder of session records (default: where listen keeps them)")
    _web_options(p)

    p = sub.add_parser("batch", parents=[_model_parent(), bank],
                       help="an archive of recorded interviews: a record and a report for each file")
    p.set_defaults(handler="pipeline.batch.command:handle_batch")
    p.add_argument("inputs", nargs="*", type=Path, metavar="INPUT", help="audio files or folders of them")
    p.add_argument("--out", type=Path, required=True, help="folder for NAME.jsonl, NAME.md and batch.json")
    p.add_argument("--manifest", type=Path, metavar="CSV",
                   help="CSV with a `file` column and optional interviewer, candidate_id, role, channels")
    p.add_argument("--channels", type=_channels, default=[UNKNOWN],
                   help="speaker of each channel, e.g. interviewer,candidate for stereo files")
    p.add_argument("--workers", type=int, help="worker processes (default: one per core)")
    p.add_argument("--force", action="store_true", help="process files again even if their record and report exist")
    p.add_argument("--ray", nargs="?", const="auto", metavar="ADDRESS",
                   help="run on a Ray cluster: `local` starts one here, else the cluster's address "
                        "(default: RAY_ADDRESS or the running cluster)")

    p = sub.add_parser("summary", parents=[_bank_parent("question bank role, for names and questions never asked")],
                       help="the team view across a batch's records")
    p.set_defaults(handler="pipeline.batch.summary_command:handle_summary")
    p.add_argument("folder", type=Path, help="the batch's --out folder (or any folder of session records)")
    p.add_argument("-o", "--output", type=Path, help="summary.md or summary.html (default: Markdown on stdout)")

    p = sub.add_parser("match", parents=[bank], help="what the listener matches for a sentence")
    p.set_defaults(handler="pipeline.authoring.commands:handle_match")
    p.add_argument("text", nargs="?", help="the sentence; without it, one sentence per stdin line")
    p.add_argument("--speaker", required=True, choices=SPEAKERS)
    p.add_argument("--jsonl", action="store_true", help="one JSON object per line")

    p = sub.add_parser("bank", help="question bank tools for content authors")
    p.set_defaults(handler="pipeline.authoring.commands:handle_bank")
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
    b.add_argument("--speaker", default=UNKNOWN, choices=SPEAKERS)
    b.add_argument("--top", type=int, default=3, help="candidates shown per kind")
    b.add_argument("--question", help="for red flags: the interviewer question the text answers")
    b = bank_sub.choices["dupes"]
    b.add_argument("--threshold", type=float, default=0.9, help="similarity (0-1) from which phrases collide")
    b = bank_sub.choices["test"]
    b.add_argument("--max-miss", type=float, metavar="PCT", help="percent of each group that may miss "
                   "(default: the role's baseline + 5 points, see docs/authoring.md); 0 for strict")
    b.add_argument("--folds", type=int, default=5, help="cross-validation folds for the classifiers")
    b.add_argument("--save-baseline", action="store_true",
                   help="record today's miss rates as the role's baseline (a rise of 5 points fails)")
    bank_sub.choices["stats"].add_argument("--json", action="store_true", help="as JSON")
    b = bank_sub.choices["new"]
    b.add_argument("kind", choices=["question", "red-flag", "role"])
    b.add_argument("--id", help="the new entry's id (for a role: the folder name)")
    b.add_argument("--stage", help="for a question: the stage it belongs to")
    b = bank_sub.add_parser("mine", help="near-miss sentences from batch records: suggested new examples to review")
    b.add_argument("folder", type=Path, help="a folder of session records (e.g. the --out of `s2q batch`)")
    b.add_argument("--bank", type=Path, help="question bank root folder (default: the bundled one)")
    b.add_argument("--role", help="the role (default: each record's own)")
    b.add_argument("--entry", metavar="ID", help="only this entry")
    b.add_argument("--top", type=int, default=10, help="suggestions per entry")
    b = bank_sub.add_parser("schema", help="write the bank's JSON Schema (for editors)")
    b.add_argument("-o", "--output", type=Path)
    b = bank_sub.add_parser("roles", help="list the roles in the bank")
    b.add_argument("--bank", type=Path)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module, _, function = args.handler.partition(":")
    try:
        return getattr(importlib.import_module(module), function)(args)
    except S2QError as exc:
        print(f"s2q: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:
        return 0
