"""The second pass: recent final utterances decoded again, better, with the CPU the first pass leaves.

The first pass is fast (greedy, a window fitted to the utterance) so the live view and the
alerts are not kept waiting. When the ASR worker has nothing else to do and nobody is speaking,
it takes the oldest final still waiting here and decodes it again with beam search in Whisper's
full 30 s window (the first pass fits the window to the utterance) and the same speaker's text
before it (the best text so far) as the prompt; a long turn that came in pieces is heard whole. Different text becomes a
revision of that utterance (`transcript` event, same `utterance_id`, next `revision`): the report
and the record keep it, the steps check it again.

Live, it runs on a thread of its own with a model of its own whose native threads run at the
OS's idle priority (`SecondPass.run`, `Transcriber.twin`), so a final never waits behind a
revision: the first pass takes the CPU the moment it needs it. Under load this is the first work shed: at most `keep` finals wait, the oldest
goes first, and a revision starts only when no final waits and nobody speaks.
"""

from __future__ import annotations

import collections
import re
import threading
import time
from dataclasses import dataclass, replace
from typing import Callable, Sequence

from pipeline.audio.speaker_text import SpeakerText
from pipeline.events import Transcript, Utterance

WINDOW_S = 30.0  # Whisper's window: the longest audio decoded whole
ARCHIVE_KEEP = 1_000_000  # an archive sheds no revision


@dataclass
class SecondPassOptions:
    """Revisions of final utterances with a better decoding.

    Attributes:
      enabled: decode final utterances again when the worker is idle (live and paced replay).
      beam_size: beam search width of the second pass (the first pass is greedy).
      fit_window: encode only the utterance, as the first pass does; False (the default) uses
        Whisper's 30 s window. Measured side by side (`s2q bench --levers`, 2026-11-30): best
        text on radio_speech 11.11% fitted vs 6.39% with the 30 s window (first pass 10.83%,
        plain whole clip beam 5 7.5%), demo 0.5% vs 0.0%, at 0.086 vs 0.099 s per audio s.
      keep: finals waiting for their second pass; past this the oldest is shed.
      max_s: longer utterances are not decoded again (the pass would hold the worker too long).
      max_turn_s: a long turn that came in pieces (`Utterance.continues`) is decoded again whole
        when it is no longer than this (one window: the answer's sentences heard together, as if it
        had not been cut), else piece by piece.
      context_chars: the same speaker's earlier text given as the prompt.
      min_words_kept: a revision with fewer words than this share of the first pass's is not
        sent: beam search in the 30 s window sometimes stops after the first sentence (the demo's
        "Thank you very much. It was nice talking with you." came back as "Thank you very much.").
        A revision corrects words; it does not drop speech the first pass heard.
      model: the Whisper model of the second pass (manifest name or folder); empty: the first
        pass's. A bigger model hears better what the first pass misheard, at idle priority.
      with_backpressure: also in a replay with `--fast` (each final's second pass runs when the
        queue is empty, the rest at the end): the best text for a batch, at about twice the ASR time.
        `for_archive()` turns it on for every file nobody waits for.
    """

    enabled: bool = True
    beam_size: int = 5
    fit_window: bool = False
    keep: int = 8
    max_s: float = 10.0
    max_turn_s: float = 20.0
    context_chars: int = 200
    min_words_kept: float = 0.75
    model: str = ""
    with_backpressure: bool = False

    def for_archive(self) -> SecondPassOptions:
        """A file nobody waits for (`replay --fast`, `s2q batch`, Ray workers): there is no latency
        budget, so every final is decoded again (none shed), whole turns and utterances up to one
        Whisper window (the segmenter cuts at 25 s), with beam search, the speaker's context and the
        live path's no-speech gates (`Transcriber.redecode`). `enabled=False` still turns it off."""
        return replace(self, with_backpressure=True, keep=ARCHIVE_KEEP, max_s=WINDOW_S,
                       max_turn_s=max(self.max_turn_s, WINDOW_S))


@dataclass
class Revision:
    """On the engine's output queue: better text for an earlier final utterance."""

    utterance_id: int
    text: str
    asr_ms: float
    whole_turn: bool = False  # the text of a whole turn (its first piece's id), not of one piece


class SecondPass:
    """Finals waiting for a better decoding, and each speaker's best text so far (the prompt).

    Used from the ASR worker thread only: it offers each final it made and runs one revision
    at a time when idle."""

    def __init__(self, transcriber, options: SecondPassOptions | None = None) -> None:
        self.transcriber = transcriber
        self.opts = options or SecondPassOptions()
        self._lock = threading.Lock()  # the ASR worker offers, the second-pass thread takes
        self._closed = threading.Event()
        self._waiting: collections.deque[tuple[Utterance, str, str, bool]] = collections.deque()
        self._said = SpeakerText(self.opts.context_chars, keep=max(self.opts.keep, 4))  # best text so far
        self.shed = 0
        self.revised = 0
        self.done = 0

    def offer(self, final: Transcript, pieces: Sequence[Transcript] = ()) -> None:
        """A final the first pass made, decoded again later if it waits its turn. A pieced turn
        comes whole with its `pieces` (assembled by the engine, `memory.PiecedTurns`): decoded whole when
        it is no longer than `max_turn_s`, else piece by piece. Partials are not offered."""
        u = final.utterance
        if not u.final or u.speculative:
            return
        if pieces and u.duration > self.opts.max_turn_s:
            for p in pieces:
                self._wait(p.utterance, p.text, False)
        else:
            self._wait(u, final.text, bool(pieces))

    def _wait(self, u: Utterance, text: str, whole_turn: bool) -> None:
        if not text:
            return
        with self._lock:
            context = self._said.prompt(u.speaker)
            self._said.add(u.speaker, u.id, text)
            if u.duration > (self.opts.max_turn_s if whole_turn else self.opts.max_s):
                return
            self._waiting.append((u, text, context, whole_turn))
            while len(self._waiting) > self.opts.keep:
                self._waiting.popleft()
                self.shed += 1

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def run_one(self, decoder=None) -> Revision | None:
        """Decode the oldest waiting final again (with `decoder`, else the transcriber); a
        `Revision` if its text changed."""
        with self._lock:
            if not self._waiting:
                return None
            u, first, context, whole_turn = self._waiting.popleft()
        started = time.perf_counter()
        decoder = decoder or (self.transcriber.sibling(self.opts.model) if self.opts.model else self.transcriber)
        text = decoder.redecode(u, context, self.opts.beam_size, self.opts.fit_window)
        asr_ms = round((time.perf_counter() - started) * 1000, 1)
        self.done += 1
        heard, before = _words(text), _words(first)
        if not heard or heard == before:
            return None  # the same words (beam search may only drop punctuation): nothing to revise
        if len(heard) < self.opts.min_words_kept * len(before):
            return None  # it stopped early: the first pass heard more
        with self._lock:
            self._said.revise(u.speaker, u.id, text)
            self.revised += 1
        return Revision(u.id, text, asr_ms, whole_turn)

    def run(self, emit: Callable[[Revision], None], may_start: Callable[[], bool]) -> None:
        """The second-pass thread, until `close()`: revisions decoded by a twin of the transcriber
        (computing at idle priority), each started only when `may_start()` (no final waits, nobody speaks).
        This thread keeps normal priority: it holds the GIL at times, and an idle-priority thread
        holding it could stall the whole process under load."""
        decoder = self.transcriber.twin(self.opts.model)
        while not self._closed.is_set():
            if not (self.waiting and may_start()):
                self._closed.wait(0.02)
            elif (revision := self.run_one(decoder)) is not None:
                emit(revision)

    def close(self) -> None:
        """`run` returns after the revision in progress (the worker decodes what is left)."""
        self._closed.set()


def _words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]", " ", text.lower()).split()
