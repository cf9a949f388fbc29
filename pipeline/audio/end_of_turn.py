"""End of turn from what was said: a complete question or sentence ends the turn before the hangover.

The segmenter offers the utterance as it will be if the current pause lasts (a speculative
guess) after `tail_ms` of silence; the ASR worker transcribes it at once. When that text is a
complete question or sentence, waiting out the rest of the hangover only delays the text: the
engine ends the turn there (`Segmenter.end_early`). When it is not ("By the way,", "and then
I", a fragment Whisper closed with a full stop), the hangover is kept, so speech that resumes
joins the same utterance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.events import Utterance

# Words a finished sentence does not end on: the speaker paused mid-thought.
DANGLING = frozenset(
    "a an the and or but so because if than then that which who whose whom to of in on at for from with "
    "by as about into like i we he she they its my our your their is are was were be been am "
    "um uh er mean very really just also not".split()
)
# A sentence closed by these is a whole short answer even under `min_words`.
SHORT_ANSWERS = frozenset("yes no yeah nope sure right exactly okay ok correct absolutely thanks".split())


@dataclass
class EndOfTurnOptions:
    """When a speculative transcript ends the turn early.

    Attributes:
      enabled: end a turn at a complete sentence instead of after the whole hangover.
      min_words: a statement needs at least this many words to count as complete (Whisper
        puts a full stop after fragments such as "Ask not."); a question needs two.
    """

    enabled: bool = True
    min_words: int = 4


def is_complete(text: str, options: EndOfTurnOptions | None = None) -> bool:
    """A complete question or sentence: ends with ? . or !, and not on a word that continues."""
    opts = options or EndOfTurnOptions()
    text = text.strip()
    if not text or text[-1] not in ".?!" or text.endswith("..."):
        return False
    words = re.findall(r"[a-z0-9']+", text.lower())
    if not words or words[-1] in DANGLING:
        return False
    if text.endswith("?"):
        return len(words) >= 2
    if len(words) <= 2 and all(w in SHORT_ANSWERS for w in words):
        return True
    return len(words) >= opts.min_words


def end_point(utterance: Utterance, text: str, options: EndOfTurnOptions | None = None) -> tuple[int, int] | None:
    """Where the turn ends if nobody speaks on, as `Segmenter.end_early` takes it, or None.

    A speculative guess that is a complete sentence ends the turn with the guess's audio; a piece
    of a long turn, committed at a pause, that is a complete sentence ends it with nothing after
    the piece (otherwise the silent rest would wait out a whole hangover)."""
    opts = options or EndOfTurnOptions()
    if not opts.enabled or not is_complete(text, opts):
        return None
    if utterance.speculative:
        return utterance.id, len(utterance.audio)
    if utterance.continues:
        return utterance.id, 0
    return None
