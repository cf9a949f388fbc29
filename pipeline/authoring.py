"""What content authors run on the question bank: validate, build, match, schema."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO, Iterable

from pipeline.retrieval.bank import BANK_ROOT, DEFAULT_ROLE, BankError, Problem, check_bank, list_roles


def role_dirs(bank: Path | None, role: str | None) -> list[Path]:
    """`--bank` may name one role folder or a bank root holding several."""
    root = Path(bank) if bank else BANK_ROOT
    if (root / "role.yaml").exists():
        return [root]
    if role:
        return [root / role]
    roles = list_roles(root)
    if not roles:
        raise BankError([Problem(root, 1, "no role folders (with a role.yaml) found here")])
    return [root / r for r in roles]


def validate(dirs: Iterable[Path], out: IO[str] | None = None) -> int:
    """Prints every problem as `file:line: message`; exit status 1 when any is an error."""
    out = out or sys.stdout
    failed = False
    for directory in dirs:
        try:
            bank, problems = check_bank(directory)
        except BankError as exc:
            bank, problems = None, exc.problems
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
    from pipeline.retrieval.bank import load_bank
    from pipeline.retrieval.embedder import Embedder
    from pipeline.retrieval.index import BankIndex

    banks = [load_bank(directory=directory) for directory in dirs]  # all valid before any cache work
    embedder = Embedder().load()
    for bank in banks:
        index = BankIndex.build(bank, embedder, cache_dir)
        state = f"built ({index.embedded} phrases embedded)" if index.rebuilt else "up to date"
        sizes = ", ".join(f"{side}: {len(ix.phrases)}" for side, ix in index.sides.items())
        print(f"{bank.role.id}: index {state} [{sizes}] key {index.key}", file=out)
    return 0


def export_schema(path: Path | None, out: IO[str] | None = None) -> int:
    from pipeline.retrieval.schema import json_schema

    out = out or sys.stdout

    text = json.dumps(json_schema(), indent=2) + "\n"
    if path:
        Path(path).write_text(text)
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


def default_role() -> str:
    return DEFAULT_ROLE
