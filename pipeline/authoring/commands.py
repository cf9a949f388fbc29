"""The `s2q match` and `s2q bank ...` handlers: from parsed arguments to a command, and its exit status.

`pipeline/cli.py` only parses; each handler here takes the parsed `args` and returns the exit
status. validate, build, schema and match are small enough to live here; the other bank commands
have a module each.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from pipeline.authoring.dupes import dupes
from pipeline.authoring.heldout import run_bank_tests
from pipeline.authoring.new import new_entry, template_markers
from pipeline.authoring.search import search
from pipeline.authoring.stats import stats
from pipeline.authoring.workbench import role_dirs
from pipeline.batch.mine import handle_mine
from pipeline.errors import S2QError
from pipeline.interview import build_interview_step
from pipeline.outfile import write_text
from pipeline.retrieval.bank import BankError, check_bank, list_roles, load_bank
from pipeline.retrieval.embedder import role_embedder
from pipeline.retrieval.index import BankIndex
from pipeline.retrieval.schema import json_schema


def handle_match(args) -> int:
    """`s2q match`: what the listener matches for a sentence, or for each line of stdin."""
    step = build_interview_step(args.role, args.bank)
    lines = [args.text] if args.text else sys.stdin
    return match_lines(step.matcher, args.speaker, lines, args.jsonl)


def handle_bank(args) -> int:
    """`s2q bank <command>`: dispatches on `args.bank_command`."""
    command = args.bank_command
    if command == "schema":
        return export_schema(args.output)
    if command == "roles":
        for role in list_roles(args.bank):
            print(role)
        return 0
    if command == "new":
        return new_entry(args.kind, args.bank, args.role, args.id, args.stage)
    if command == "mine":  # batch records in, suggestions out: lives with the batch

        return handle_mine(args)
    dirs = role_dirs(args.bank, args.role)
    if command == "validate":
        return validate(dirs)
    if command == "build":
        return build(dirs)
    if command == "search":
        return search(dirs, args.text, args.speaker, args.top, question=args.question)
    if command == "dupes":
        return dupes(dirs, args.threshold)
    if command == "test":
        return run_bank_tests(dirs, args.folds, None if args.max_miss is None else args.max_miss / 100,
                              save=args.save_baseline)
    if command == "stats":
        return stats(dirs, args.json)
    raise S2QError(f"unknown bank command {command}")


def validate(dirs: Iterable[Path], out: IO[str] | None = None) -> int:
    """Prints every problem as `file:line: message`; exit status 1 when any is an error."""
    out = out or sys.stdout
    failed = False
    for directory in dirs:
        try:
            bank, problems = check_bank(directory)
        except BankError as exc:
            bank, problems = None, exc.problems
        unfilled = template_markers(directory) if (Path(directory) / "role.yaml").exists() else []
        if unfilled:  # templates from `s2q bank new` that still hold a TODO
            problems = sorted([*problems, *unfilled], key=lambda p: (str(p.file), p.line))
            bank = None
        for p in problems:
            print(p, file=sys.stderr if p.severity == "error" else out)
        if bank is None:
            failed = True
            errors = sum(p.severity == "error" for p in problems)
            print(f"{directory}: {errors} error(s)", file=sys.stderr)
        else:
            warnings = len(problems)
            print(
                f"{directory}: ok — {len(bank.questions)} questions, {len(bank.red_flags)} red flags, "
                f"{len(bank.compliance)} compliance alerts" + (f", {warnings} warning(s)" if warnings else ""),
                file=out,
            )
    return 1 if failed else 0


def build(dirs: Iterable[Path], cache_dir: Path | None = None, out: IO[str] | None = None) -> int:
    """Validates, then embeds and indexes. An invalid bank never touches the cache."""
    out = out or sys.stdout

    banks = [load_bank(directory=directory) for directory in dirs]  # all valid before any cache work
    embedder = None
    for bank in banks:
        embedder = role_embedder(bank.role, embedder).load()
        index = BankIndex.build(bank, embedder, cache_dir)
        state = f"built ({index.embedded} phrases embedded)" if index.rebuilt else "up to date"
        sizes = ", ".join(f"{side}: {len(ix.phrases)}" for side, ix in index.sides.items())
        print(f"{bank.role.id}: index {state} [{sizes}] key {index.key}", file=out)
    return 0


def export_schema(path: Path | None, out: IO[str] | None = None) -> int:
    out = out or sys.stdout

    text = json.dumps(json_schema(), indent=2) + "\n"
    if path:
        write_text(path, text)
        print(f"wrote {path}", file=out)
    else:
        out.write(text)
    return 0


def match_lines(matcher, speaker: str, lines: Iterable[str], as_json: bool, out: IO[str] | None = None) -> int:
    """One result per input line: JSON lines, or a short readable summary."""
    out = out or sys.stdout
    for line in lines:
        text = line.strip()
        if not text:
            continue
        result = matcher.match(text, speaker)
        bank = matcher.index.bank
        record = {
            "text": text,
            "speaker": speaker,
            "questions": [
                {"id": h.id, "score": h.score, "stage": bank.question(h.id).stage,
                 "competencies": list(bank.question(h.id).competencies)}
                for h in result.questions
            ],
            "red_flags": [{"id": h.id, "score": h.score} for h in result.red_flags],
            "compliance": [{"id": h.id, "score": h.score} for h in result.compliance],
        }
        if as_json:
            out.write(json.dumps(record) + "\n")
            out.flush()
            continue
        found = [(k, h) for k in ("questions", "compliance", "red_flags") for h in record[k]]
        if not found:
            print(f"{text}\n  nothing matched", file=out)
        else:
            print(text, file=out)
            for kind, h in found:
                label = {"questions": "question", "compliance": "compliance", "red_flags": "red flag"}[kind]
                print(f"  {label}: {h['id']} ({h['score']:.2f})", file=out)
    return 0
