"""What the candidate just talked about, as bank questions: the answer against every question's phrasings.

The answer (each sentence, and the whole) is embedded with the matcher's embedder and searched in
the bank index's interviewer side (read-only); each question scores its closest phrasing to its
closest sentence. "We ran it in shadow mode first" then ranks the question on shadow deployments,
and the reason quotes the words it follows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pipeline.retrieval.text import clean_speech, split_sentences

CACHE = 512  # answers whose similarities are kept (a rebuild after a revision reads them again)
QUOTE_WORDS = 6
QUOTED = 12  # the closest questions get a quote (only they can be shown for the answer)
_WORD = re.compile(r"[a-z][a-z'-]+")
_COMMON = frozenset("""about above after again also always another because been before being between both
could does doing during each even every first from have having here into just like made make many more
most much never only other over really same should some such than that their them then there these
they thing things this those through under very want well were what when where which while will with
would your yeah okay actually basically honestly think know sure kind sort mean""".split())


@dataclass
class AnswerTopic:
    """One answer's similarity to each bank question, and the words of it each question follows.

    Attributes:
        similarity: question id -> cosine of its closest phrasing to the closest part of the answer.
        quote: question id -> a few words of the answer that it follows.
        asked_before: how many bank questions had been asked when the answer was given.
    """

    similarity: dict[str, float] = field(default_factory=dict)
    quote: dict[str, str] = field(default_factory=dict)
    asked_before: int = 0


class AnswerTopics:
    """Answers -> `AnswerTopic`, and question -> questions on the same topic, through the bank's own
    index (its interviewer side's phrase vectors, read only) and embedder."""

    def __init__(self, index, embedder) -> None:
        import numpy as np

        self.embedder = embedder
        side = index.sides["interviewer"]
        self.vectors = side.vectors
        rows: dict[str, list[int]] = {}
        texts: dict[str, int] = {}
        self.words: dict[str, set[str]] = {}
        for i, p in enumerate(side.phrases):
            if p.kind == "question":
                rows.setdefault(p.entry_id, []).append(i)
                self.words.setdefault(p.entry_id, set()).update(_content_words(p.text))
                if p.field == "text":
                    texts[p.entry_id] = i
        self.ids = list(rows)
        self.rows = [np.array(rows[q]) for q in self.ids]
        text_vectors = side.vectors[[texts[q] for q in self.ids]]
        self._near = text_vectors @ text_vectors.T  # question text against question text
        self._at = {q: n for n, q in enumerate(self.ids)}
        self._cache: dict[str, tuple[dict[str, float], dict[str, str]]] = {}

    def read(self, answer: str, asked_before: int = 0) -> AnswerTopic | None:
        sentences = split_sentences(answer)
        if not sentences:
            return None
        if answer not in self._cache:
            if len(self._cache) >= CACHE:
                self._cache.pop(next(iter(self._cache)))
            self._cache[answer] = self._score(sentences)
        similarity, quote = self._cache[answer]
        return AnswerTopic(similarity, quote, asked_before)

    def near(self, qid: str) -> dict[str, float]:
        """Every question's similarity to question `qid` (their texts): what stays on its topic."""
        n = self._at.get(qid)
        return {} if n is None else dict(zip(self.ids, self._near[n].tolist()))

    def _score(self, sentences: list[str]) -> tuple[dict[str, float], dict[str, str]]:
        vectors = self.embedder.encode([clean_speech(s) for s in sentences])
        sims = vectors @ self.vectors.T  # sentence x phrase
        similarity: dict[str, float] = {}
        sentence_of: dict[str, int] = {}
        for qid, rows in zip(self.ids, self.rows):
            block = sims[:, rows]
            sentence_of[qid] = int(block.max(axis=1).argmax())
            similarity[qid] = float(block[sentence_of[qid]].max())
        closest = sorted(similarity, key=similarity.get, reverse=True)[:QUOTED]
        quote = {qid: _quote(sentences[sentence_of[qid]], self.words.get(qid, set())) for qid in closest}
        return similarity, quote


def _content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if len(w) > 3 and w not in _COMMON}


def _quote(sentence: str, question_words: set[str]) -> str:
    """The few words of `sentence` that share the question's words (its start when none do)."""
    words = sentence.rstrip(".?!").split()
    stems = _stems(question_words)
    shared = [i for i, w in enumerate(words) if _stems(_content_words(w)) & stems]
    start = max(0, min(shared[0] - 1, len(words) - QUOTE_WORDS)) if shared else 0
    part = words[start:start + QUOTE_WORDS]
    return ("…" if start else "") + " ".join(part).strip(",;:") + ("…" if start + QUOTE_WORDS < len(words) else "")


def _stems(words: set[str]) -> set[str]:
    return {w[:6] for w in words}
