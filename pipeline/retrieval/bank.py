"""Loads a role's question bank from YAML and checks it, reporting `file:line: problem`.

Layout of one role folder:
    role.yaml  questions/*.yaml  red_flags.yaml  compliance.yaml  neutral.yaml
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from pipeline.errors import S2QError
from pipeline.retrieval import DEFAULT_ROLE
from pipeline.retrieval.schema import (
    ID_PATTERN,
    Bank,
    ComplianceFile,
    NeutralFile,
    QuestionFile,
    RedFlagFile,
    Role,
)
from pipeline.retrieval.yamlload import YAMLLimitError, compose_file

BANK_ROOT = Path(__file__).resolve().parents[1] / "question_bank"  # package data: found by installed copies too
MAX_SPOKEN_WORDS = 35
MIN_RED_FLAG_EXAMPLES = 8


@dataclass(frozen=True)
class Problem:
    file: Path
    line: int
    message: str
    severity: str = "error"  # or "warning"

    def __str__(self) -> str:
        prefix = "" if self.severity == "error" else "warning: "
        return f"{self.file}:{self.line}: {prefix}{self.message}"


class BankError(S2QError):
    """The bank has errors; `problems` holds one line per problem."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        super().__init__(f"question bank has {len(errors)} error(s):\n" + "\n".join(str(p) for p in errors))


# -- YAML with line numbers ------------------------------------------------------


class _Located:
    """A YAML file's data plus the line of every mapping key and list item."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines: dict[tuple, int] = {}
        node = compose_file(path)  # size, depth and alias limits (yamlload.py)
        self._constructor = yaml.constructor.SafeConstructor()
        self.data = self._build(node, ()) if node is not None else None

    def _build(self, node, path: tuple) -> Any:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            out = {}
            for key_node, value_node in node.value:
                key = self._constructor.construct_object(key_node, deep=True)
                self.lines[path + (key,)] = key_node.start_mark.line + 1
                out[key] = self._build(value_node, path + (key,))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self._build(item, path + (i,)) for i, item in enumerate(node.value)]
        return self._constructor.construct_object(node, deep=True)

    def line(self, loc: tuple) -> int:
        loc = tuple(loc)
        while loc and loc not in self.lines:
            loc = loc[:-1]
        return self.lines.get(loc, 1)


def _load(path: Path, model: type[BaseModel], problems: list[Problem]):
    try:
        located = _Located(path)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark else 1
        what = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        problems.append(Problem(path, line, f"YAML syntax: {what}" + (f" ({context})" if context else "")))
        return None, None
    except YAMLLimitError as exc:
        problems.append(Problem(path, exc.line, exc.message))
        return None, None
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(path, 1, f"cannot read: {exc}"))
        return None, None
    data = located.data if located.data is not None else {}
    try:
        return model.model_validate(data), located
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            problems.append(Problem(path, located.line(loc), _describe(data, loc, err)))
        return None, located


def _describe(data: Any, loc: tuple, err: dict) -> str:
    """'questions[3] (id: foo): stage: field required' — where, and what, in plain words."""
    parts, node = [], data
    for i, key in enumerate(loc):
        if isinstance(key, int):
            label = f"{parts.pop() if parts else ''}[{key}]"
            node = node[key] if isinstance(node, list) and key < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("id"), str):
                label += f" (id: {node['id']})"
            parts.append(label)
        else:
            parts.append(str(key))
            node = node.get(key) if isinstance(node, dict) else None
    where = ": ".join(p for p in parts if p)
    msg = err["msg"]
    if err["type"] == "missing":
        msg = "required field is missing"
    elif err["type"] == "extra_forbidden":
        msg = "unknown field (check the spelling; see docs/authoring.md)"
    elif err["type"] == "string_pattern_mismatch":
        msg = "ids use lowercase letters, digits and dashes, like 'model-drift'"
    return f"{where}: {msg}" if where else msg


# -- the bank ----------------------------------------------------------------------


class BadIdError(S2QError):
    """An id given on the command line (or read from role.yaml) that could name a path outside the bank."""


def check_id(value: str | None, what: str) -> str:
    """`value` if it is a valid id; ids name files and folders, so `../x` or `/abs` must never pass."""
    if not isinstance(value, str) or not re.fullmatch(ID_PATTERN, value):
        raise BadIdError(f"{what} {value!r}: ids use lowercase letters, digits and dashes, like 'model-drift'")
    return value


def inside(root: Path, *parts: str) -> Path:
    """root/parts, refused when it would leave root (lexically: a symlink the user made is theirs)."""
    root = Path(os.path.abspath(root))
    path = Path(os.path.normpath(root.joinpath(*parts)))
    if path != root and root not in path.parents:
        raise BadIdError(f"{path}: outside {root}")
    return path


def role_dir(role: str = DEFAULT_ROLE, bank_root: Path | None = None) -> Path:
    return inside(Path(bank_root or BANK_ROOT), check_id(role, "--role"))


def list_roles(bank_root: Path | None = None) -> list[str]:
    root = Path(bank_root or BANK_ROOT)
    return sorted(p.parent.name for p in root.glob("*/role.yaml"))


def bank_files(directory: Path) -> list[Path]:
    """The YAML files of a role folder, in loading order (those that exist)."""
    directory = Path(directory)
    files = [directory / "role.yaml", *sorted((directory / "questions").glob("*.yaml")),
             directory / "red_flags.yaml", directory / "compliance.yaml", directory / "neutral.yaml"]
    return [p for p in files if p.exists()]


def yaml_strings(path: Path) -> list[tuple[int, str]]:
    """Every string value of a YAML file with its line, in file order; raises yaml.YAMLError, OSError."""
    located = _Located(path)
    found: list[tuple[int, str]] = []

    def walk(node, at: tuple) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, at + (k,))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, at + (i,))
        elif isinstance(node, str):
            found.append((located.line(at), node))

    walk(located.data, ())
    return found


class Positions:
    """Where each entry of a loaded bank is written: its file and the line of any of its fields.

    Kept by `check_bank` while it parses, so nothing needs to read the YAML twice. Keys:
    ("questions", i) for `bank.questions[i]` (across files), ("red_flags", i), ("compliance", i),
    ("neutral", "interviewer" | "candidate") for the neutral lists.
    """

    def __init__(self) -> None:
        self._at: dict[tuple[str, object], tuple[_Located, tuple]] = {}

    def add(self, section: str, key: object, located: _Located, at: tuple) -> None:
        self._at[(section, key)] = (located, tuple(at))

    def file(self, section: str, key: object) -> Path | None:
        found = self._at.get((section, key))
        return found[0].path if found else None

    def line(self, section: str, key: object, *field) -> int:
        """The line of `field` (a YAML path below the entry, e.g. "alternatives", 2); 0 when unknown."""
        found = self._at.get((section, key))
        return found[0].line(found[1] + tuple(field)) if found else 0


def check_bank(directory: Path) -> tuple[Bank | None, list[Problem]]:
    """Loads and cross-checks a role folder. Returns the bank (None on errors) and all problems."""
    directory = Path(directory)
    problems: list[Problem] = []
    if not (directory / "role.yaml").exists():
        raise BankError([Problem(directory / "role.yaml", 1, "no role.yaml: is this a role folder of the bank?")])
    role, _ = _load(directory / "role.yaml", Role, problems)

    positions = Positions()
    questions = []
    for path in sorted((directory / "questions").glob("*.yaml")):
        parsed, loc = _load(path, QuestionFile, problems)
        if parsed:
            for i, q in enumerate(parsed.questions):
                positions.add("questions", len(questions), loc, ("questions", i))
                questions.append(q)
    red_flags, rf_loc = _optional(directory / "red_flags.yaml", RedFlagFile, problems)
    compliance, c_loc = _optional(directory / "compliance.yaml", ComplianceFile, problems)
    neutral, n_loc = _optional(directory / "neutral.yaml", NeutralFile, problems)
    for section, parsed, loc in (("red_flags", red_flags, rf_loc), ("compliance", compliance, c_loc)):
        for i in range(len(getattr(parsed, section)) if parsed else 0):
            positions.add(section, i, loc, (section, i))
    if neutral:
        for side in ("interviewer", "candidate"):
            positions.add("neutral", side, n_loc, (side,))
    red_flags = red_flags.red_flags if red_flags else []
    compliance = compliance.compliance if compliance else []

    if role is not None:
        _cross_check(role, questions, red_flags, compliance, positions, problems)
        _warn_weak(questions, red_flags, compliance, positions, problems)
    if any(p.severity == "error" for p in problems):
        return None, problems
    bank = Bank(role=role, questions=questions, red_flags=red_flags, compliance=compliance,
                neutral=neutral or NeutralFile())
    bank._positions = positions
    return bank, problems


def load_bank(role: str = DEFAULT_ROLE, bank_root: Path | None = None, directory: Path | None = None) -> Bank:
    bank, problems = check_bank(directory or role_dir(role, bank_root))
    if bank is None:
        raise BankError(problems)
    return bank


def _optional(path: Path, model, problems):
    if not path.exists():
        return None, None
    return _load(path, model, problems)


def _cross_check(role, questions, red_flags, compliance, positions: Positions, problems) -> None:
    stages = {s.id for s in role.stages}
    competencies = {c.id for c in role.competencies}
    question_ids = {q.id for q in questions}
    seen: dict[str, tuple[Path, int]] = {}

    def claim(entry_id: str, path: Path, line: int) -> None:
        if entry_id in seen:
            first = seen[entry_id]
            problems.append(Problem(path, line, f"duplicate id {entry_id!r} (first defined at {first[0]}:{first[1]})"))
        else:
            seen[entry_id] = (path, line)

    for n, q in enumerate(questions):
        path = positions.file("questions", n)

        def line(*field, n=n) -> int:
            return positions.line("questions", n, *field)

        claim(q.id, path, line("id"))
        if q.stage not in stages:
            problems.append(Problem(path, line("stage"),
                                    f"question {q.id!r}: unknown stage {q.stage!r} (known: {', '.join(sorted(stages))})"))
        for i, c in enumerate(q.competencies):
            if c not in competencies:
                problems.append(Problem(path, line("competencies", i),
                                        f"question {q.id!r}: unknown competency {c!r} (known: {', '.join(sorted(competencies))})"))
        for i, f in enumerate(q.follow_ups):
            if f not in question_ids:
                problems.append(Problem(path, line("follow_ups", i),
                                        f"question {q.id!r}: follow-up {f!r} is not a question in the bank"))
            elif f == q.id:
                problems.append(Problem(path, line("follow_ups", i), f"question {q.id!r} lists itself as a follow-up"))
    for i, rf in enumerate(red_flags):
        path = positions.file("red_flags", i)
        claim(rf.id, path, positions.line("red_flags", i, "id"))
        for j, probe in enumerate(rf.probes):
            if probe not in question_ids:
                problems.append(Problem(path, positions.line("red_flags", i, "probes", j),
                                        f"red flag {rf.id!r}: probe {probe!r} is not a question in the bank"))
    for i, alert in enumerate(compliance):
        claim(alert.id, positions.file("compliance", i), positions.line("compliance", i, "id"))


# -- entries that are valid but thin ------------------------------------------------------------------

MIN_ALTERNATIVES = 3  # fewer is a coverage gap in `s2q bank stats`


@dataclass(frozen=True)
class Weakness:
    """A valid entry that will match poorly: the one list of such checks, for `validate` and `stats`.

    Attributes:
        check: no-alternatives, few-alternatives, long-text, few-examples, no-probes or no-negatives.
        section: questions, red_flags or compliance (the `Positions` section).
        index: the entry's place in that list of the bank.
        entry_id: the entry's id.
        field: the field to point at ("" for the entry itself).
        count: how many there are (words, examples, alternatives), where that is the point.
    """

    check: str
    section: str
    index: int
    entry_id: str
    field: str = ""
    count: int = 0


def weak_entries(questions, red_flags, compliance) -> list[Weakness]:
    """Per entry, in bank order: every thin spot `validate` warns about or `stats` lists as a gap."""
    found: list[Weakness] = []
    for i, q in enumerate(questions):
        if not q.alternatives:
            found.append(Weakness("no-alternatives", "questions", i, q.id))
        if len(q.alternatives) < MIN_ALTERNATIVES:
            found.append(Weakness("few-alternatives", "questions", i, q.id, "alternatives", len(q.alternatives)))
        if len(q.text.split()) > MAX_SPOKEN_WORDS:
            found.append(Weakness("long-text", "questions", i, q.id, "text", len(q.text.split())))
    for i, rf in enumerate(red_flags):
        if not rf.probes:
            found.append(Weakness("no-probes", "red_flags", i, rf.id, "probes"))
        if len(rf.examples) < MIN_RED_FLAG_EXAMPLES:
            found.append(Weakness("few-examples", "red_flags", i, rf.id, "examples", len(rf.examples)))
        if not rf.negative_examples:
            found.append(Weakness("no-negatives", "red_flags", i, rf.id, "negative_examples"))
    for i, c in enumerate(compliance):
        if not c.negative_examples:
            found.append(Weakness("no-negatives", "compliance", i, c.id, "negative_examples"))
    return found


_WARNINGS = {
    "no-alternatives": lambda w: (f"question {w.entry_id!r} has no alternative phrasings: "
                                  "it will only be recognised when asked almost word for word"),
    "long-text": lambda w: (f"question {w.entry_id!r}: text has {w.count} words, too long to say "
                            f"in one breath (at most {MAX_SPOKEN_WORDS})"),
    "few-examples": lambda w: (f"red flag {w.entry_id!r} has {w.count} examples; "
                               f"at least {MIN_RED_FLAG_EXAMPLES} make it reliable"),
}


def _warn_weak(questions, red_flags, compliance, positions: Positions, problems) -> None:
    for w in weak_entries(questions, red_flags, compliance):
        if w.check in _WARNINGS:
            field = (w.field,) if w.field else ()
            problems.append(Problem(positions.file(w.section, w.index), positions.line(w.section, w.index, *field),
                                    _WARNINGS[w.check](w), "warning"))


def content_hash(bank: Bank) -> str:
    """Changes when anything that affects matching changes; comments and layout don't count."""
    return hashlib.sha256(bank.model_dump_json().encode("utf-8")).hexdigest()[:16]
