"""Markdown from untrusted values: every value read from a record goes through `md` or `code`.

A record is a file anyone could have edited: a backtick or newline in a field
must not close a code span or start a block, so raw HTML (`<script>`, `<img
onerror>`) never reaches whoever renders the report.
"""

from __future__ import annotations

import re
from typing import Any

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")
# What may sit inside a code span as it is: ids, states, file names. No backtick, `<`, `|` or newline.
_CODE_SAFE = re.compile(r"[\w .,:;/@+=~()-]+")


def md(text: Any) -> str:
    """Literal text: one line, Markdown's special characters escaped."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def code(text: Any) -> str:
    """An id as `code` when it is plain (one line of safe characters), else as escaped text."""
    text = " ".join(str(text).split())
    return f"`{text}`" if _CODE_SAFE.fullmatch(text) else md(text)


def blockquote(text: Any) -> str:
    return "> " + (md(text) or "_(no quote)_")


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else ('es' if word.endswith('ch') else 's')}"


def percentages(values: list[float]) -> list[int]:
    """Whole percentages that add up to exactly 100 (largest remainder), as readers expect."""
    total = sum(values)
    if total <= 0:
        return [0] * len(values)
    exact = [v * 100.0 / total for v in values]
    shares = [int(x) for x in exact]
    by_remainder = sorted(range(len(values)), key=lambda i: exact[i] - shares[i], reverse=True)
    for i in by_remainder[: 100 - sum(shares)]:
        shares[i] += 1
    return shares


def ordered(items, preferred: list[str]) -> list[str]:
    """`items` in `preferred` order, then the rest in their own order."""
    items = list(dict.fromkeys(items))
    return [p for p in preferred if p in items] + [i for i in items if i not in preferred]
