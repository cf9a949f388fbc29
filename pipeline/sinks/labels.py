"""How speakers and audio times read to a person: shared by the live views and the report."""

from __future__ import annotations

from typing import Any

from pipeline.events import UNKNOWN, is_unnamed

SPEAKER_LABEL = {"interviewer": "Interviewer", "candidate": "Candidate", UNKNOWN: "Speaker"}


def speaker_label(speaker: Any) -> str:
    """`Interviewer`, `Candidate`, `Speaker` (unknown); a voice told apart but not named
    (`speaker-2`) reads `Speaker 2`."""
    text = str(speaker or UNKNOWN)
    if text in SPEAKER_LABEL:
        return SPEAKER_LABEL[text]
    return text.replace("-", " ", 1).capitalize() if is_unnamed(text) else text


def clock(seconds: Any) -> str:
    """Audio time as mm:ss; anything that is not a number (a damaged record) reads as 00:00."""
    try:
        m, s = divmod(int(float(seconds)), 60)
    except (TypeError, ValueError, OverflowError):
        m, s = 0, 0
    return f"{m:02d}:{s:02d}"
