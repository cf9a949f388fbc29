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


# Words that open a question or a task said without a question mark ("Walk me through...",
# "Design a rate limiter", "Suppose your model..."), after discourse markers ("okay, so, great").
_MARKERS = re.compile(r"^(?:(?:okay|ok|so|and|now|great|alright|all right|right|well|good|cool|perfect|nice|"
                      r"thanks|thank you|sure|then|next)\b[,.]?\s*)+", re.IGNORECASE)
_ASKING = re.compile(
    r"^(?:how|what|what's|why|when|where|which|who|whose|whom|can|could|would|will|should|do|does|did|is|are|"
    r"was|were|have|has|had|if|suppose|imagine|assume|say|given|explain|describe|design|walk|tell|talk me|"
    r"give me|show me|take me|run me|compare|define|name|list|pick|sketch|outline|build|write|implement|"
    r"consider|think of|go through|let.s say|let's design|let's imagine|let's assume|"
    r"let's suppose|let's walk|let's build|i'd like to (?:hear|know|understand)|i want to (?:hear|know)|"
    r"i'm curious|i'm interested in how)\b",
    re.IGNORECASE)


def sounds_like_question(sentence: str) -> bool:
    """Whether a sentence asks something: it ends with '?' or opens like a question or a task.

    "Great, let's start with some fundamentals and then talk about systems you have built." is a
    lead-in: it may resemble a bank question, but it asks nothing, so it is never `question_asked`.
    """
    text = clean_speech(sentence).strip()
    if text.endswith("?"):
        return True
    return bool(_ASKING.match(_MARKERS.sub("", text)))


_NEGATION = re.compile(r"\b(?:no|not|never|nobody|nothing|none|nor|neither|without|cannot|\w+n't|wasnt|didnt|dont|"
                       r"doesnt|isnt|havent|hasnt|wouldnt|couldnt|cant|wont)\b", re.IGNORECASE)


def negated(text: str) -> bool:
    """Whether a sentence says no, not, never...: what a sentence embedding barely registers."""
    return bool(_NEGATION.search(text.replace("\u2019", "'")))


def with_negation(vectors, texts):
    """[vector, vector if negated else 0] per row: lets a linear classifier flip a topic's meaning on "never"."""
    import numpy as np

    flags = np.array([[1.0 if negated(t) else 0.0] for t in texts], dtype=vectors.dtype)
    return np.hstack([vectors, vectors * flags])
