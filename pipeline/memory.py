"""What the engine remembers between utterances: speculative guesses made during a pause, the
last final transcript of each utterance (what a revision builds on), the pieces of a long turn
(the one place they are assembled), and the partial lines still waiting for their final."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace

import numpy as np

from pipeline.events import UNKNOWN, RetractedEvent, Speaker, Timeline, Transcript, Utterance


def in_pieces(u: Utterance, turn_open: bool) -> bool:
    """Whether a final belongs to a turn committed in pieces: a piece (`continues`), or the end of
    a turn already open. Never on a mixed source, whose voices may change within a turn."""
    return u.speaker != UNKNOWN and (u.continues or turn_open)


def spoken(texts) -> str:
    """The pieces' texts as one, skipping the silent ones."""
    return " ".join(t for t in texts if t)


@dataclass
class Guess:
    """A transcript made during the end-of-utterance pause, before the utterance was declared over."""

    text: str
    asr_ms: float | None = None
    audio_at: float = 0.0  # audio time at which the guess was offered (the benchmark's clock)
    ready_at: float = field(default_factory=time.monotonic)  # when its text was known (live clock)

    def stamp(self, timeline: Timeline) -> None:
        """On its final's timeline, as `latency_ms`: `guessed`, the decoding's ms during the pause;
        `held`, the ms from the moment the final was declared and this text known (both) to the
        final's text going out (`asr_start`): what a ready line waited."""
        timeline.extra_ms["guessed"] = self.asr_ms if self.asr_ms is not None else 0.0
        ready = max(self.ready_at, timeline.stamps.get("speech_end", self.ready_at))
        timeline.extra_ms["held"] = round(max(0.0, timeline.stamps["asr_start"] - ready) * 1000, 1)


class Speculation:
    """Guesses keyed by (utterance id, audio length): a final utterance with the same audio reuses its text."""

    def __init__(self, keep_last: int = 8) -> None:
        self.keep_last = keep_last
        self._lock = threading.Lock()  # the ASR worker remembers, a capture thread takes (a hit goes out at once)
        self._guesses: dict[tuple[int, int], Guess] = {}
        self.hits = 0

    def remember(self, utterance: Utterance, guess: Guess) -> None:
        with self._lock:
            self._guesses = {k: v for k, v in self._guesses.items() if k[0] >= utterance.id - self.keep_last}
            self._guesses[(utterance.id, len(utterance.audio))] = guess

    def take(self, utterance: Utterance) -> Guess | None:
        with self._lock:
            guess = self._guesses.pop((utterance.id, len(utterance.audio)), None)
            if guess is not None:
                self.hits += 1
        return guess


class Finals:
    """The last final transcript of each utterance, so a revision (better text, settled speaker)
    carries everything else over and gets the next revision number. Audio is kept only for the
    last `keep_audio` utterances (what a second pass may decode again)."""

    def __init__(self, keep_audio: int = 8) -> None:
        self.keep_audio = keep_audio
        self._latest: dict[int, Transcript] = {}

    def keep(self, transcript: Transcript) -> Transcript:
        """A final as first emitted, or again with a higher revision if the utterance was seen."""
        uid = transcript.utterance.id
        if uid in self._latest:
            transcript = replace(transcript, revision=self._latest[uid].revision + 1)
        self._latest[uid] = transcript
        old = uid - self.keep_audio
        if old in self._latest and len(self._latest[old].utterance.audio):
            self._latest[old] = replace(self._latest[old],
                                        utterance=replace(self._latest[old].utterance, audio=_NO_AUDIO))
        return transcript

    def get(self, utterance_id: int) -> Transcript | None:
        return self._latest.get(utterance_id)

    def revise(self, utterance_id: int, text: str | None = None, speaker: Speaker | None = None) -> Transcript | None:
        """The utterance again with new text and/or speaker; None if unknown or nothing changed."""
        last = self._latest.get(utterance_id)
        if last is None:
            return None
        text = last.text if text is None else text
        speaker = last.utterance.speaker if speaker is None else speaker
        if text == last.text and speaker == last.utterance.speaker:
            return None
        return self.keep(Transcript(utterance=replace(last.utterance, speaker=speaker), text=text,
                                    dropped_reason=last.dropped_reason))


_NO_AUDIO = np.zeros(0, np.float32)


@dataclass
class AssembledTurn:
    """What the turn assembler puts out: a final, the turn so far (a partial), or a pieced turn
    joined whole, with its `pieces` as heard (the second pass decodes a long one piece by piece)."""

    transcript: Transcript
    pieces: tuple[Transcript, ...] = ()


class PiecedTurns:
    """The one assembler of pieced turns. A long turn is committed in pieces while it is spoken
    (`Utterance.continues`, see `SegmenterOptions.commit_after_s`), each transcribed at once; the
    steps and the record get the turn so far as a partial after each piece, and one final
    utterance, the whole turn, when it ends, so an answer is matched whole and the second pass
    hears it whole. Only what was said after the last piece is left to decode when the speaker
    stops. A second-pass revision of a piece revises its turn.

    The engine assembles on its ASR worker and revises on the main thread, hence the lock."""

    def __init__(self, keep: int = 64) -> None:
        self.keep = keep
        self._lock = threading.Lock()
        self._open: dict[Speaker, list[Transcript]] = {}
        self._texts: dict[int, list[str]] = {}  # turn id -> text of each piece (best so far)
        self._piece: dict[int, tuple[int, int]] = {}  # piece id -> (turn id, index)

    def add(self, transcript: Transcript) -> list[Transcript]:
        """What `assemble` puts out, without the pieces (for a caller that only emits)."""
        return [out.transcript for out in self.assemble(transcript)]

    def assemble(self, transcript: Transcript) -> list[AssembledTurn]:
        """A final transcript in; out: itself (a turn of one piece), the turn so far as a partial
        (a piece), or the whole turn as one final (its last piece, perhaps silent), with its pieces.
        A turn whose next piece never came (shed under load) goes out first, as it is."""
        u = transcript.utterance
        with self._lock:
            pieces = self._open.get(u.speaker)
            cut = []
            if pieces and abs(u.start - pieces[-1].utterance.end) > 0.05:
                cut, pieces = [self._close(u.speaker)], None
            if not in_pieces(u, bool(pieces)):
                return cut + [AssembledTurn(transcript)]
            pieces = self._open.setdefault(u.speaker, [])
            pieces.append(transcript)
            first = pieces[0].utterance
            texts = self._texts.setdefault(first.id, [])
            texts.append(transcript.text)
            self._piece[u.id] = (first.id, len(texts) - 1)
            for old in list(self._texts)[: -self.keep]:
                del self._texts[old]
            self._piece = {p: at for p, at in self._piece.items() if at[0] in self._texts}
            text = spoken(texts)
            if u.continues:
                so_far = replace(u, id=first.id, start=first.start, final=False, continues=False)
                return cut + [AssembledTurn(Transcript(so_far, text))]
            return cut + [self._join(self._open.pop(u.speaker), text)]

    def so_far(self, transcript: Transcript) -> Transcript:
        """A partial or speculative transcript of what a speaker says after a piece of their open
        turn, as the turn so far (the turn's id, its pieces' text before it): a partial line never
        carries an id that no final will end. Anything else comes back as it is."""
        u = transcript.utterance
        with self._lock:
            pieces = self._open.get(u.speaker)
            if not pieces or abs(u.start - pieces[-1].utterance.end) > 0.05:
                return transcript
            first = pieces[0].utterance
            text = spoken(self._texts.get(first.id, []) + [transcript.text])
        return Transcript(replace(u, id=first.id, start=first.start, final=False), text)

    def close_all(self) -> list[Transcript]:
        """Every turn still open (the input ended after a piece), as finals."""
        with self._lock:
            return [self._close(speaker).transcript for speaker in list(self._open)]

    def _close(self, speaker: Speaker) -> AssembledTurn:
        pieces = self._open.pop(speaker)
        return self._join(pieces, spoken(self._texts.get(pieces[0].utterance.id, [])))

    def revise(self, utterance_id: int, text: str, whole_turn: bool = False) -> tuple[int, str]:
        """Better text for a final, a whole turn, or a piece of a turn: (the final's id, its text)."""
        with self._lock:
            turn_id, index = self._piece.get(utterance_id, (None, 0))
            if whole_turn or turn_id is None or turn_id not in self._texts:
                return utterance_id, text
            self._texts[turn_id][index] = text
            return turn_id, spoken(self._texts[turn_id])

    @staticmethod
    def _join(pieces: list[Transcript], text: str) -> AssembledTurn:
        first, last = pieces[0].utterance, pieces[-1].utterance
        said = next((p.utterance for p in reversed(pieces) if p.text), last)  # its timeline: the last word
        audio = np.concatenate([p.utterance.audio for p in pieces])
        u = replace(last, id=first.id, start=first.start, audio=audio, timeline=said.timeline,
                    eou_delay=said.eou_delay if said is last else last.eou_delay, continues=False)
        return AssembledTurn(Transcript(utterance=u, text=text), tuple(pieces))


class OpenPartials:
    """Utterance ids shown as partial lines that no final has ended yet. Each must end, in a final
    with its id or in a `RetractedEvent`: a client keeps one line per id (docs/events.md)."""

    def __init__(self) -> None:
        self._open: dict[int, tuple[Speaker, float, float]] = {}  # id -> (speaker heard as, start, end)
        self._heard_to: dict[Speaker, float] = {}  # speaker -> audio time their last final ended

    def admit(self, transcript: Transcript) -> bool:
        """A partial to show, unless a final already covers its speech (a final whose text was
        guessed goes out before the worker's partial of the same speech)."""
        u = transcript.utterance
        if u.start < self._heard_to.get(u.speaker, float("-inf")) - 0.05:
            return False
        self._open[u.id] = (u.speaker, u.start, u.end)
        return True

    def ended(self, u: Utterance, heard_as: Speaker, has_text: bool) -> list[RetractedEvent]:
        """A final of `u` from `heard_as` (the speaker before any voice label): with text it ends
        its own line; without, the line is retracted. Any other line of the same speaker still
        open got no final (its speech dropped, shed, or joined to another) and is retracted: one
        speaker's speech is transcribed in order, so nothing earlier of theirs is coming."""
        self._heard_to[heard_as] = max(self._heard_to.get(heard_as, u.end), u.end)
        out = [] if has_text or u.id not in self._open else [self._retract(u.id, "no_words")]
        self._open.pop(u.id, None)
        return out + [self._retract(uid, "no_final") for uid, (speaker, _, _) in list(self._open.items())
                      if speaker == heard_as]

    def close_all(self) -> list[RetractedEvent]:
        """The session is over: every line still open gets no final."""
        return [self._retract(uid, "no_final") for uid in list(self._open)]

    def _retract(self, uid: int, reason: str) -> RetractedEvent:
        speaker, start, end = self._open.pop(uid)
        return RetractedEvent(utterance_id=uid, speaker=speaker, start=round(start, 3), end=round(end, 3),
                              reason=reason)
