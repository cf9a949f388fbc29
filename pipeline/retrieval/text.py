"""Text clean-up shared by the bank index and the matcher, so both see the same words."""

from __future__ import annotations

import re

# Spoken fillers carry no meaning for matching but pull embeddings towards each other.
_FILLERS = re.compile(r"\b(?:u+m+|u+h+|e+r+m+|h+m+|mm+|you know|i mean|kind of|sort of)\b[,.]?\s*", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"(?<=[.?!])\s+")


def clean_speech(text: str) -> str:
    return _SPACES.sub(" ", _FILLERS.sub("", text)).strip(" ,")


def split_sentences(text: str) -> list[str]:
    """Sentences worth checking alone (3+ words), plus the whole text when it has several."""
    text = clean_speech(text)
    sentences = [s.strip() for s in _SENTENCE_END.split(text) if len(s.split()) >= 3]
    units = list(sentences)
    if len(sentences) != 1 and text:
        units.append(text)
    return units
