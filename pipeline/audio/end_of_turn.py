"""End of turn from what was said: a complete question or sentence ends the turn before the hangover.

The segmenter offers the utterance as it will be if the current pause lasts (a speculative
guess) after `tail_ms` of silence; the ASR worker transcribes it at once. When that text is a
complete question or sentence, waiting out the rest of the hangover only delays the text: the
engine ends the turn there (`Segmenter.end_early`). When it is not ("By the way,", "and then
I", a fragment Whisper closed with a full stop), the hangover is kept, so speech that resumes
joins the same utterance.

That is the `rules` mode, and the fallback. In `model` mode (the default) the end-of-turn model
(pipeline/audio/turn_end_model.py) also hears each pause, in the segmenter: when it hears the end,
a short or unpunctuated text ("That's all.", "3 years") ends the turn too, when the pause is
`end_pause_ms` long as for a complete sentence; when it hears a speaker who goes on and the text is unfinished too, the turn is
held longer (`hold_ms`). The model alone does not end a turn: on synthetic voices it heard the end
in many pauses inside unfinished sentences (ending turns on it alone cut 7 of 16 pauses of 400 ms
where the text rule cut none, espeak and Piper). When its file is missing, `turn_judge` gives None
and the rules decide. `benchmarks/turn_end.py` measures the modes side by side.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from pipeline.audio.turn_end_model import TurnEndModel, TurnEndModelOptions, load_turn_end_model
from pipeline.events import Utterance

TurnEndMode = Literal["rules", "model"]
TURN_END_MODES: tuple[TurnEndMode, ...] = ("rules", "model")

# Words a finished sentence does not end on: the speaker paused mid-thought.
DANGLING = frozenset(
    "a an the and or but so because if than then that which who whose whom to of in on at for from with "
    "by as about into like i we he she they its my our your their is are was were be been am "
    "um uh er mean very really just also not".split()
    # Italian: articles, prepositions, conjunctions, fillers ("e poi il", "perché la", "ehm")
    + "il lo la gli le un una uno e ed o ma che di da con su per tra fra del della dei delle al alla "
      "nel nella sul sulla dal dalla non se cioè ehm".split()
)
# A sentence closed by these is a whole short answer even under `min_words`.
SHORT_ANSWERS = frozenset("yes no yeah nope sure right exactly okay ok correct absolutely thanks "
                          "sì si certo esatto grazie va bene".split())


@dataclass
class EndOfTurnOptions:
    """When a turn ends before the hangover.

    Attributes:
      enabled: end a turn early at all (off: every turn waits the whole hangover).
      mode: `model`: the end-of-turn model hears each pause (falls back to `rules` when its file
        is missing); `rules`: the speculative transcript must be a complete sentence.
      min_words: a statement needs at least this many words to count as complete (Whisper
        puts a full stop after fragments such as "Ask not."); a question needs two.
      model: how the end-of-turn model is asked.
    """

    enabled: bool = True
    mode: TurnEndMode = "model"
    min_words: int = 4
    model: TurnEndModelOptions = field(default_factory=TurnEndModelOptions)


def turn_judge(options: EndOfTurnOptions | None = None) -> TurnEndModel | None:
    """The segmenter's turn-end judge in `model` mode; None means the text rules decide."""
    opts = options or EndOfTurnOptions()
    if not opts.enabled or opts.mode != "model":
        return None
    return load_turn_end_model(opts.model)


Reading = Literal["complete", "open", "unfinished"]


def reading(text: str, options: EndOfTurnOptions | None = None) -> Reading:
    """What the text says of the turn. `complete`: a question or sentence (ends with ? . or !, not on
    a word that continues, long enough). `unfinished`: nothing, a trailing comma or ellipsis, a word
    that continues ("and then", "che"), or a longer text without a closing mark (Whisper closes the
    sentences it heard finished: "So my role there was mostly" is a fragment). `open`: maybe the
    end: short, closed ("That's all.") or not (Whisper leaves short answers such as "3 years" bare)."""
    opts = options or EndOfTurnOptions()
    text = text.strip()
    words = re.findall(r"[\w']+", text.lower())  # any alphabet: "perché", "città"
    if not words or words[-1] in DANGLING or text.endswith(("...", "\u2026", ",", ";", ":", "-", "\u2014")):
        return "unfinished"
    if text[-1] not in ".?!":
        return "open" if len(words) < opts.min_words else "unfinished"
    if text.endswith("?"):
        return "complete" if len(words) >= 2 else "open"
    if len(words) <= 2 and all(w in SHORT_ANSWERS for w in words):
        return "complete"
    return "complete" if len(words) >= opts.min_words else "open"


def is_complete(text: str, options: EndOfTurnOptions | None = None) -> bool:
    """A complete question or sentence (`reading`): the rules end the turn on it."""
    return reading(text, options) == "complete"


def end_point(utterance: Utterance, text: str, options: EndOfTurnOptions | None = None) -> tuple[int, int, Reading] | None:
    """Where the turn ends if nobody speaks on, as `Segmenter.end_early` takes it, or None.

    A speculative guess that is a complete sentence ends the turn with the guess's audio; a piece
    of a long turn, committed at a pause, that is a complete sentence ends it with nothing after
    the piece (otherwise the silent rest would wait out a whole hangover). In `model` mode every
    reading is offered: `open` ends the turn if the model heard the end, `unfinished` holds it
    longer if the model heard a speaker who goes on (`Segmenter.end_early`)."""
    opts = options or EndOfTurnOptions()
    said = reading(text, opts)
    if not opts.enabled or (said != "complete" and opts.mode != "model"):
        return None
    if utterance.speculative:
        return utterance.id, len(utterance.audio), said
    if utterance.continues:
        return utterance.id, 0, said
    return None
