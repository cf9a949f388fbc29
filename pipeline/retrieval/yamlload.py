"""Bank YAML, read defensively: a bank file is small, flat data written by people.

PyYAML's own loaders let a hostile or broken file grow memory without end
(aliases: "billion laughs"), recurse until RecursionError (deep nesting, an
alias to itself), raise TypeError (a list as a mapping key) or take minutes
(a 50 MB file). Bank files need none of that, so before composing we read at
most MAX_FILE_BYTES, and one pass over the parser's events (iterative, so it
cannot recurse) refuses anchors, aliases, nesting deeper than MAX_DEPTH and
keys that are not plain values. libyaml's C parser is used where present.
Every refusal is a `YAMLLimitError` naming the line.
"""

from __future__ import annotations

import stat
from pathlib import Path

import yaml

from pipeline.errors import S2QError

MAX_FILE_BYTES = 1 << 20  # 1 MiB: the largest bundled bank file is about 30 KB
MAX_DEPTH = 16  # bank files nest about 5 levels deep

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML was built with it


class YAMLLimitError(S2QError):
    """A bank file that is too big, too deep, or uses YAML features bank files never need."""

    def __init__(self, path: Path, line: int, message: str) -> None:
        self.path, self.line, self.message = Path(path), line, message
        super().__init__(f"{path}:{line}: {message}")


def read_text(path: Path) -> str:
    """The file's text, refusing anything that is not a regular file of bounded size."""
    path = Path(path)
    info = path.stat()  # OSError (missing, no permission) is left to the caller
    if not stat.S_ISREG(info.st_mode):
        raise YAMLLimitError(path, 1, "not a regular file")
    with path.open("rb") as f:
        data = f.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise YAMLLimitError(path, 1, f"file is larger than {MAX_FILE_BYTES // 1024} KB; "
                                      "split it (a bank file holds one stage's questions)")
    return data.decode("utf-8")  # UnicodeDecodeError is left to the caller


def check_events(text: str, path: Path) -> None:
    """Refuses anchors, aliases, too-deep nesting and non-scalar keys, without building anything."""
    # stack of [is_mapping, children seen so far]; in a mapping, even children are keys
    stack: list[list] = []
    for event in yaml.parse(text, Loader=Loader):
        line = event.start_mark.line + 1 if event.start_mark else 1
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise YAMLLimitError(path, line, "YAML anchors and aliases (&name, *name) are not allowed in bank files")
        if isinstance(event, (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            if stack:
                parent = stack[-1]
                if parent[0] and parent[1] % 2 == 0 and not isinstance(event, yaml.ScalarEvent):
                    raise YAMLLimitError(path, line, "a mapping key must be a plain value, not a list or mapping")
                parent[1] += 1
            if not isinstance(event, yaml.ScalarEvent):
                stack.append([isinstance(event, yaml.MappingStartEvent), 0])
                if len(stack) > MAX_DEPTH:
                    raise YAMLLimitError(path, line, f"nested deeper than {MAX_DEPTH} levels")
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            stack.pop()


def compose_file(path: Path):
    """The file's YAML node tree (None when empty), after the checks above."""
    text = read_text(path)
    check_events(text, path)
    return yaml.compose(text, Loader=Loader)
