"""THE list of the bank's phrases: what the index embeds, row for row, and where each is written.

The index, the matcher and the authoring tools all read this one list, so an index row, the
phrase behind it and its file:line can never disagree. Two sides: what an interviewer might say
(questions, compliance examples, their counter-examples, neutral small talk) and what a candidate
might say (red-flag examples, their counter-examples, clean answers). Counter-examples have kind
`none`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.retrieval.schema import Bank
from pipeline.retrieval.text import clean_speech

SIDES = ("interviewer", "candidate")


@dataclass(frozen=True)
class Phrase:
    """One phrase of the bank.

    Attributes:
        text: what is embedded and matched: `clean_speech()` of what is written.
        kind: question, compliance, red_flag, or none (a counter-example).
        entry_id: the entry it belongs to ('' for neutral lines).
        field: text, alternative, example, negative example, lawful alternative or neutral line.
        file: the YAML file it is written in (None for a bank not loaded from files).
        line: its line in that file (0 when unknown).
        written: the phrase as written in the YAML, for authors to recognise.
    """

    text: str
    kind: str
    entry_id: str
    field: str = ""
    file: Path | None = None
    line: int = 0
    written: str = ""

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def bank_phrases(bank: Bank) -> dict[str, list[Phrase]]:
    """Both sides' phrases in index row order, with the place each is written."""
    positions = bank.positions

    def phrase(text: str, kind: str, entry_id: str, field: str, section: str, key, *at) -> Phrase:
        file = positions.file(section, key) if positions else None
        line = positions.line(section, key, *at) if positions else 0
        return Phrase(clean_speech(text), kind, entry_id, field, file, line, text)

    def listed(texts: list[str], kind: str, entry_id: str, field: str, section: str, key, *at) -> list[Phrase]:
        return [phrase(t, kind, entry_id, field, section, key, *at, j) for j, t in enumerate(texts)]

    interviewer: list[Phrase] = []
    for i, q in enumerate(bank.questions):
        interviewer.append(phrase(q.text, "question", q.id, "text", "questions", i, "text"))
        interviewer += listed(q.alternatives, "question", q.id, "alternative", "questions", i, "alternatives")
        interviewer += listed(q.negative_examples, "none", q.id, "negative example", "questions", i,
                              "negative_examples")
    for i, c in enumerate(bank.compliance):
        interviewer += listed(c.examples, "compliance", c.id, "example", "compliance", i, "examples")
        interviewer += listed(c.negative_examples, "none", c.id, "negative example", "compliance", i,
                              "negative_examples")
        if c.alternative:
            interviewer.append(phrase(c.alternative, "none", c.id, "lawful alternative", "compliance", i,
                                      "alternative"))
    interviewer += listed(bank.neutral.interviewer, "none", "", "neutral line", "neutral", "interviewer")
    candidate: list[Phrase] = []
    for i, rf in enumerate(bank.red_flags):
        candidate += listed(rf.examples, "red_flag", rf.id, "example", "red_flags", i, "examples")
        candidate += listed(rf.negative_examples, "none", rf.id, "negative example", "red_flags", i,
                            "negative_examples")
    candidate += listed(bank.neutral.candidate, "none", "", "neutral line", "neutral", "candidate")
    return {"interviewer": interviewer, "candidate": candidate}
