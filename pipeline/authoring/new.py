"""`s2q bank new`: commented templates written where they belong, and the check for unfilled ones.

The templates are YAML files in `templates/` (package data), formatted with `str.format`; every
placeholder holds a TODO, which `s2q bank validate` reports until the author replaces it.
"""

from __future__ import annotations

import re
import sys
from importlib import resources
from pathlib import Path
from typing import IO

from pipeline.authoring.workbench import quote, role_dirs
from pipeline.retrieval.bank import (
    BANK_ROOT,
    DEFAULT_ROLE,
    BankError,
    Problem,
    bank_files,
    check_bank,
    check_id,
    yaml_strings,
)

TODO = "TODO"  # placeholder in templates; `s2q bank validate` reports every one left as an error


def fill_template(name: str, **values: str) -> str:
    """A template from templates/ (question, red_flag, role, neutral), filled with `values`."""
    text = resources.files("pipeline.authoring").joinpath("templates", f"{name}.yaml").read_text(encoding="utf-8")
    return text.format(**values)


def _check_id(value: str, what: str) -> None:
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", value or ""):
        raise BankError([Problem(Path(what), 1, f"{value!r}: ids use lowercase letters, digits and dashes, "
                                                 "like 'model-drift'")])


def _append_entry(path: Path, list_key: str, template: str) -> int:
    """Appends a template under the file's top-level list; returns the line where it starts."""
    if path.exists():
        text = path.read_text(encoding="utf-8")
        if re.search(rf"^{list_key}:\s*\[\s*\]\s*$", text, re.MULTILINE):  # an empty flow list
            text = re.sub(rf"^{list_key}:\s*\[\s*\]\s*$", f"{list_key}:", text, count=1, flags=re.MULTILINE)
        elif not re.search(rf"^{list_key}:", text, re.MULTILINE):
            raise BankError([Problem(path, 1, f"no '{list_key}:' list in this file to add to")])
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = f"{list_key}:\n"
    items = re.findall(r"^( *)- id:", text, re.MULTILINE)
    indent = items[0] if items else "  "
    body = "\n".join(indent + line[2:] if line.startswith("  ") else line for line in template.split("\n"))
    if not text.endswith("\n"):
        text += "\n"
    start = text.count("\n") + 2
    path.write_text(text + body, encoding="utf-8")
    return start


def new_entry(kind: str, bank: Path | None, role: str | None, entry_id: str | None = None,
              stage: str | None = None, out: IO[str] | None = None) -> int:
    """`s2q bank new question|red-flag|role`: writes a commented template where it belongs."""
    out = out or sys.stdout
    if kind == "role":
        return _new_role(bank, entry_id or role, out)
    dirs = role_dirs(bank, role)
    if len(dirs) != 1:
        names = ", ".join(d.name for d in dirs)
        raise BankError([Problem(Path(bank or BANK_ROOT), 1, f"several roles here ({names}): name one with --role")])
    directory = dirs[0]
    current, _ = check_bank(directory)
    role_id = directory.name
    if entry_id:
        _check_id(entry_id, "--id")
        if current and entry_id in {e.id for e in [*current.questions, *current.red_flags, *current.compliance]}:
            raise BankError([Problem(directory, 1, f"id {entry_id!r} is already used in this role")])
    if kind == "question":
        role_data = _role_data(directory)
        stages = [s.get("id") for s in role_data.get("stages") or [] if isinstance(s, dict)]
        competencies = [c.get("id") for c in role_data.get("competencies") or [] if isinstance(c, dict)]
        if not stage or stage not in stages:
            said = f"unknown stage {stage!r}" if stage else "name the stage with --stage"
            raise BankError([Problem(directory / "role.yaml", 1, f"{said} (stages: {', '.join(map(str, stages))})")])
        path = directory / "questions" / f"{check_id(stage, '--stage')}.yaml"  # role.yaml may be hand-edited
        template = fill_template("question", role=role_id, id=entry_id or "TODO-question-id", stage=stage,
                                            competencies=", ".join(map(str, competencies)))
        line = _append_entry(path, "questions", template)
    elif kind == "red-flag":
        path = directory / "red_flags.yaml"
        template = fill_template("red_flag", role=role_id, id=entry_id or "TODO-red-flag-id")
        line = _append_entry(path, "red_flags", template)
    else:
        raise BankError([Problem(directory, 1, f"unknown kind {kind!r}: question, red-flag or role")])
    print(f"wrote a {kind} template at {path}:{line}", file=out)
    print(f"fill in every TODO, then run: s2q bank validate --role {role_id} && s2q bank test --role {role_id}",
          file=out)
    return 0


def _role_data(directory: Path) -> dict:
    import yaml

    try:
        data = yaml.safe_load((directory / "role.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def _new_role(bank: Path | None, role: str | None, out: IO[str]) -> int:
    if not role:
        raise BankError([Problem(Path("--id"), 1, "name the new role with --id, e.g. --id data-scientist")])
    _check_id(role, "--id")
    root = Path(bank) if bank else BANK_ROOT
    if (root / "role.yaml").exists():
        root = root.parent
    directory = root / role
    if directory.exists():
        raise BankError([Problem(directory, 1, "this role folder already exists; nothing written")])
    (directory / "questions").mkdir(parents=True)
    (directory / "role.yaml").write_text(fill_template("role", id=role), encoding="utf-8")
    _append_entry(directory / "questions" / "first-stage.yaml", "questions",
                  fill_template("question", role=role, id="TODO-question-id", stage="first-stage",
                                           competencies="first-competency, second-competency"))
    _append_entry(directory / "red_flags.yaml", "red_flags",
                  fill_template("red_flag", role=role, id="TODO-red-flag-id"))
    source = next((p for p in (root / DEFAULT_ROLE / "compliance.yaml", BANK_ROOT / DEFAULT_ROLE / "compliance.yaml")
                   if p.exists()), None)
    if source is not None:
        header = (f"# Copied from {DEFAULT_ROLE}: the questions an interviewer must not ask are the same in every\n"
                  "# role. Review the negative examples (lawful questions that sound close) so they sound like\n"
                  "# this role's interviews.\n")
        (directory / "compliance.yaml").write_text(header + source.read_text(encoding="utf-8"), encoding="utf-8")
    (directory / "neutral.yaml").write_text(fill_template("neutral"), encoding="utf-8")
    print(f"wrote a new role folder at {directory}", file=out)
    for name in ("role.yaml", "questions/first-stage.yaml", "red_flags.yaml", "compliance.yaml", "neutral.yaml"):
        if (directory / name).exists():
            print(f"  {directory / name}", file=out)
    print(f"fill in every TODO, then run: s2q bank validate --role {role} && s2q bank test --role {role}", file=out)
    return 0


def template_markers(directory: Path) -> list[Problem]:
    """Every value still holding a TODO placeholder from `s2q bank new`, as an error at its line."""
    import yaml

    found = []
    for path in bank_files(directory):
        try:
            strings = yaml_strings(path)
        except (yaml.YAMLError, OSError, UnicodeDecodeError):
            continue  # check_bank reports it
        found += [Problem(path, line, "template not filled in yet: replace the TODO "
                                      f"({quote(value, 60)}) with your own words")
                  for line, value in strings if TODO in value]
    return found
