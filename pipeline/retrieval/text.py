"""Text clean-up shared by the bank index and the matcher, so both see the same words."""

from __future__ import annotations

import re

# Spoken fillers carry no meaning for matching but pull embeddings towards each other.
# Only sounds: phrases like "you know" or "kind of" often carry meaning ("how would you know...").
_FILLERS = re.compile(r"\b(?:u+m+|u+h+|e+r+m+|h+m+|mm+)\b[,.]?\s*", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"(?<=[.?!])\s+")


def clean_speech(text: str) -> str:
    return _SPACES.sub(" ", _FILLERS.sub("", text)).strip(" ,")


def split_sentences(text: str) -> list[str]:
    """Sentences worth checking alone (3+ words), plus the whole text when it has several.

    These are the words as said (they become the quote an alert shows); match on
    `clean_speech()` of each.
    """
    text = _SPACES.sub(" ", text).strip()
    sentences = [s.strip() for s in _SENTENCE_END.split(text) if len(clean_speech(s).split()) >= 3]
    units = list(sentences)
    if len(sentences) != 1 and clean_speech(text):
        units.append(text)
    return units
