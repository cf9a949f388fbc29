"""The interviewer's own clicks in the web panel, as the report reads them.

A question marked asked by click counts as asked even when the matcher did not
recognise it (a paraphrase too loose, a crosstalk-garbled line): the interviewer knows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.report.record import Session, number

if TYPE_CHECKING:
    from pipeline.retrieval.schema import Bank

BY_CLICK = "interviewer"  # the `by` of a question counted from a click


def clicked_questions(session: Session, bank: Bank | None = None) -> list[dict[str, Any]]:
    """Questions marked asked in the panel and not recognised by the matcher, shaped like
    `question_asked` events (with `by`), at the audio time of the click."""
    recognised = {e.get("id") for e in session.settled("question_asked")}
    found: dict[str, dict[str, Any]] = {}
    for action in session.of("interviewer_action"):
        qid = action.get("target")
        if action.get("action") != "asked" or not isinstance(qid, str) or qid in recognised or qid in found:
            continue
        question = _bank_question(bank, qid)
        found[qid] = {
            "type": "question_asked", "id": qid, "by": BY_CLICK,
            "text": question.text if question else (action.get("text") or qid),
            "stage": question.stage if question else "unknown",
            "competencies": list(question.competencies) if question else [],
            "start": number(action.get("at")), "end": number(action.get("at")), "quote": None,
        }
    return list(found.values())


def _bank_question(bank: Bank | None, qid: str):
    if bank is None:
        return None
    try:
        return bank.question(qid)
    except KeyError:
        return None
