"""Cuts a stream of audio into utterances with webrtcvad.

One `Segmenter` per speaker source. It opens an utterance when most of the last
few frames are voiced (keeping a pre-roll so the first syllable is not cut),
closes it after a hangover of silence, drops blips shorter than a minimum, and
splits a monologue that runs past the maximum length at its quietest pause.
With a turn-end judge (the end-of-turn model, pipeline/audio/turn_end_model.py) it asks,
after a short pause, whether the turn is over: no, with an unfinished text, holds the turn at least
`hold_ms`; yes lets a text that may be the end close it (`end_early`), not only a complete sentence.
"""

from __future__ import annotations

import collections
import itertools
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Protocol

import numpy as np

from pipeline.audio import SAMPLE_RATE
from pipeline.audio.sources import AudioChunk
from pipeline.events import Timeline, Utterance


@dataclass
class SegmenterOptions:
    """Voice activity segmentation settings.

    Attributes:
      frame_ms: VAD frame length; webrtcvad accepts 10, 20 or 30 ms.
      aggressiveness: webrtcvad mode 0-3; higher rejects more non-speech.
      start_window_ms: window in which `start_ratio` of frames must be voiced to open an utterance.
      start_ratio: fraction of voiced frames in the start window that opens an utterance.
      pre_roll_ms: audio kept from before the opening, so onsets are not clipped.
      hangover_ms: silence that closes an utterance; the end-of-utterance delay.
      tail_ms: silence kept after the last voiced frame (Whisper likes a little).
      min_speech_ms: utterances with less voiced audio than this are dropped.
      max_utterance_s: no utterance is longer than this (25 s measured better than 15 s:
        radio_speech 13.06% -> 12.78% WER, a 75 s monologue 11.79% -> 9.35%; below the
        fitted window's 29 s so a long turn is still decoded in one window per piece).
      split_search_s: before the maximum, a pause of `split_pause_ms` splits the utterance;
        at the maximum it is split at the quietest frame of this last stretch.
      split_pause_ms: pause length that splits an utterance once it is near the maximum.
      split_tail_ms: silence kept after the last voiced frame when splitting near the maximum.
      energy_floor_dbfs: frames quieter than this are never speech, whatever the VAD says.
      short_ms: an utterance with less voiced audio than this is a possible fragment of a
        sentence cut by a pause ("ask not ..."): it ends only after `short_hangover_ms` of
        silence, so speech resuming within that joins it instead of being decoded apart.
      short_hangover_ms: the hangover for such short utterances (a short answer such as "Yes."
        waits this long too: 900 ms kept the WER gain of 1200 ms at +300 ms); 0 uses `hangover_ms`.
      commit_after_s: a long turn is committed while it is spoken: once an utterance is this
        long, a pause of `split_pause_ms` ends it (as near the maximum), so it is transcribed
        while the speaker goes on and what is left to decode when they stop is short (0: off,
        only the maximum length splits).
      commit_pause_ms: the pause that commits a long turn between `commit_after_s` and the
        stretch before the maximum (sentences inside a turn are often this close).
      end_pause_ms: a turn whose text is a complete sentence (`end_early`) ends once the pause
        after it is this long, instead of after the whole hangover.
    """

    frame_ms: int = 30
    aggressiveness: int = 2
    start_window_ms: int = 210
    start_ratio: float = 0.7
    pre_roll_ms: int = 300
    hangover_ms: int = 600
    tail_ms: int = 200
    min_speech_ms: int = 250
    max_utterance_s: float = 25.0
    split_search_s: float = 4.0
    split_pause_ms: int = 300
    split_tail_ms: int = 60
    energy_floor_dbfs: float = -55.0
    short_ms: int = 1000
    short_hangover_ms: int = 900
    commit_after_s: float = 6.0
    commit_pause_ms: int = 150
    end_pause_ms: int = 300


class TurnJudge(Protocol):
    """Says whether a turn is over from its audio (the last `window_s` seconds, ending in a pause
    of `pause_ms`); asked once per pause. After a no, and an unfinished text, the turn waits at least
    `hold_ms` of silence; after a yes, a text that merely may be the end (`end_early(..., "open")`) ends it."""

    pause_ms: int
    hold_ms: int
    window_s: float

    def __call__(self, audio: np.ndarray) -> bool: ...


class Segmenter:
    """Streaming: `feed()` chunks in, utterances out as soon as each one is over.

    With `speculate` (the engine's choice, `EngineOptions.speculate`), when silence has lasted
    `tail_ms` it also emits the utterance as it will be if the silence lasts the whole hangover
    (`speculative=True`): its transcription can then run during the hangover and be ready the
    moment the utterance is declared over.
    """

    def __init__(
        self,
        speaker: str,
        options: SegmenterOptions | None = None,
        next_id: Callable[[], int] | None = None,
        speculate: bool = False,
        turn_end: TurnJudge | None = None,
    ) -> None:
        import webrtcvad

        self.speaker = speaker
        self.opts = options or SegmenterOptions()
        self.speculate = speculate
        self.turn_end = turn_end
        if self.opts.frame_ms not in (10, 20, 30):
            raise ValueError("frame_ms must be 10, 20 or 30")
        self.vad = webrtcvad.Vad(self.opts.aggressiveness)
        self.next_id = next_id or itertools.count().__next__
        self.frame_len = SAMPLE_RATE * self.opts.frame_ms // 1000
        ms = self.opts.frame_ms
        self._start_window = max(1, self.opts.start_window_ms // ms)
        self._hangover = max(1, self.opts.hangover_ms // ms)
        self._short_hangover = max(self._hangover, self.opts.short_hangover_ms // ms)
        self._short_voiced = self.opts.short_ms // ms
        self._tail = max(1, self.opts.tail_ms // ms)
        self._pre_roll = max(self._start_window, self.opts.pre_roll_ms // ms)
        self._max_frames = int(self.opts.max_utterance_s * 1000 / ms)
        self._search_frames = int(self.opts.split_search_s * 1000 / ms)
        near = self._max_frames - self._search_frames
        commit = int(self.opts.commit_after_s * 1000 / ms)
        self._near_max = min(near, commit) if commit > 0 else near
        self._split_pause = max(1, self.opts.split_pause_ms // ms)
        self._split_tail = max(1, min(self.opts.split_tail_ms // ms, self._split_pause))
        self._commit_pause = max(1, min(self.opts.commit_pause_ms // ms, self._split_pause))
        self._end_pause = max(1, self.opts.end_pause_ms // ms)
        self._min_voiced = self.opts.min_speech_ms // ms
        self._floor = 10 ** (self.opts.energy_floor_dbfs / 20)
        self._ask_at = max(1, turn_end.pause_ms // ms) if turn_end else -1  # never, without a judge
        self._hold = max(1, turn_end.hold_ms // ms) if turn_end else 0
        # The turn so far (its pieces too), what the judge hears: frames, the last `window_s` of them.
        self._heard: collections.deque[np.ndarray] = collections.deque(
            maxlen=max(1, int(turn_end.window_s * 1000 / ms)) if turn_end else 1)
        self._heard_end: bool | None = None  # the judge's word on this pause (None: not asked)
        self._text_goes_on = False  # this pause's text is unfinished (`end_early`)

        self._pending = np.zeros(0, np.float32)
        self._position = 0  # samples consumed, = start of the next frame
        self._recent: collections.deque[tuple[np.ndarray, bool]] = collections.deque(maxlen=self._pre_roll)
        self._frames: list[np.ndarray] = []  # current utterance
        self._voiced: list[bool] = []
        self._start_sample = 0
        self._silent_run = 0
        self._utterance_id = -1
        self._turn_open = False  # a piece of this turn went out: its end must be said, even if silent
        self._last_piece = -1  # id of the piece of the open turn that went out last
        self._end_keep: int | None = None  # frames the turn ends with once the pause is long enough
        self.in_speech = False

    # -- public -------------------------------------------------------------

    def feed(self, chunk: AudioChunk | np.ndarray) -> Iterator[Utterance]:
        samples = chunk.samples if isinstance(chunk, AudioChunk) else chunk
        self._pending = np.concatenate([self._pending, samples.astype(np.float32, copy=False)])
        n = len(self._pending) // self.frame_len
        for i in range(n):
            frame = self._pending[i * self.frame_len : (i + 1) * self.frame_len]
            yield from self._step(frame)
        self._pending = self._pending[n * self.frame_len :]

    def flush(self) -> Iterator[Utterance]:
        """End of stream: whatever is being spoken becomes an utterance."""
        if self.in_speech:
            utterance = self._close(len(self._frames), force=self._turn_open)
            if utterance is not None:
                utterance.eou_delay = None  # cut by the end of the stream, not by a pause
                yield utterance
        self._reset()

    def snapshot(self) -> Utterance | None:
        """The utterance in progress so far (for partial transcripts), or None."""
        if not self.in_speech or not self._frames:
            return None
        audio = np.concatenate(self._frames)
        start = self._start_sample / SAMPLE_RATE
        timeline = Timeline()
        timeline.stamp("speech_end")  # for a partial: when the snapshot was taken
        return Utterance(id=self._utterance_id, speaker=self.speaker, start=start,
                         end=start + len(audio) / SAMPLE_RATE, audio=audio, timeline=timeline, final=False)

    def end_early(self, utterance_id: int, n_samples: int, reading: str = "complete") -> Utterance | None:
        """The utterance's text so far (its speculative guess, `n_samples` long) is a complete
        sentence (pipeline/audio/end_of_turn.py): the turn ends with that audio once the pause is
        `end_pause_ms` long, now if it already is (returned) or later from `feed`, instead of after
        the hangover. Nothing happens if the utterance is already over or voice came after the
        guess. With the id of the last piece of a long turn (committed at a pause) and 0 samples,
        the turn ends with nothing after that piece. An `open` text (may be the end, may not:
        "That's all.") ends the turn only if the judge heard this pause as the end (at `end_pause_ms`
        too: ending at the judge's 200 ms cut sentences at commas). An `unfinished` text
        ("and then") ends nothing; if the judge also heard a speaker who goes on, the turn is held
        `hold_ms` instead of the hangover."""
        if reading == "open" and not self._heard_end:
            return None
        if self._turn_open and utterance_id == self._last_piece:
            utterance_id = self._utterance_id  # the silence since the piece, which closes the turn
        keep = n_samples // self.frame_len
        if (not self.in_speech or self._utterance_id != utterance_id or keep > len(self._frames)
                or any(self._voiced[keep:])):
            return None
        if reading == "unfinished":
            self._text_goes_on = True
            return None
        self._end_keep = keep
        return self._end_if_due()

    def _end_if_due(self) -> Utterance | None:
        if self._end_keep is None or self._silent_run < self._end_pause:
            return None
        utterance = self._close(self._end_keep, force=self._turn_open)
        self._reset()
        return utterance

    def _reset(self) -> None:
        """No utterance in progress."""
        self.in_speech = self._turn_open = self._text_goes_on = False
        self._heard_end = None
        self._frames, self._voiced = [], []
        self._end_keep = None
        self._heard.clear()

    # -- internals ----------------------------------------------------------

    def _is_speech(self, frame: np.ndarray) -> bool:
        if float(np.sqrt(np.mean(frame * frame))) < self._floor:
            return False
        pcm = (np.clip(frame, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        return self.vad.is_speech(pcm, SAMPLE_RATE)

    def _step(self, frame: np.ndarray) -> Iterator[Utterance]:
        voiced = self._is_speech(frame)
        frame_start = self._position
        self._position += self.frame_len
        if not self.in_speech:
            self._recent.append((frame, voiced))
            window = list(self._recent)[-self._start_window :]
            if len(window) == self._start_window and sum(v for _, v in window) >= self.opts.start_ratio * len(window):
                self.in_speech = True
                self._frames = [f for f, _ in self._recent]
                self._voiced = [v for _, v in self._recent]
                self._start_sample = frame_start + self.frame_len - len(self._frames) * self.frame_len
                self._silent_run = 0
                self._utterance_id = self.next_id()
                self._heard.extend(self._frames)
                self._recent.clear()
            return
        self._frames.append(frame)
        self._voiced.append(voiced)
        self._heard.append(frame)
        self._silent_run = 0 if voiced else self._silent_run + 1
        if voiced:
            self._end_keep = None  # the speaker went on: not the end of the turn
            self._heard_end, self._text_goes_on = None, False
        elif (utterance := self._end_if_due()) is not None:
            yield utterance
            return
        length = len(self._frames)
        near_max = length >= self._near_max
        # Near the maximum a shorter pause ends the utterance, keeping a shorter tail.
        keep_tail = self._split_tail if near_max else self._tail
        hangover = self._short_hangover if sum(self._voiced) < self._short_voiced else self._hangover
        # Both the judge and the text say the speaker goes on: hold the turn longer than the hangover.
        hangover = max(hangover, self._hold) if self._heard_end is False and self._text_goes_on else hangover
        if self.speculate and self._silent_run == keep_tail and self._silent_run < hangover:
            guess = self._close(length - self._silent_run + keep_tail)
            if guess is not None:
                guess.final, guess.speculative = False, True
                yield guess
        if self._silent_run == self._ask_at and self._silent_run < hangover and (
                self._turn_open or sum(self._voiced) >= self._min_voiced):  # not for a blip
            self._heard_end = bool(self.turn_end(np.concatenate(self._heard)))
        if self._silent_run >= hangover:
            utterance = self._close(length - self._silent_run + self._tail, force=self._turn_open)
            self._reset()
            if utterance is not None:
                yield utterance
        elif near_max and self._silent_run >= (self._split_pause if length >= self._max_frames - self._search_frames
                                               else self._commit_pause):
            yield from self._split(length - self._silent_run + keep_tail)
        elif length >= self._max_frames:
            yield from self._split(self._quietest_frame())

    def _quietest_frame(self) -> int:
        lo = max(1, len(self._frames) - self._search_frames)
        energies = [float(np.mean(f * f)) for f in self._frames[lo:]]
        return lo + int(np.argmin(energies)) + 1

    def _split(self, at: int) -> Iterator[Utterance]:
        """Emit frames[:at] and keep the rest as the start of the next utterance."""
        utterance = self._close(at)
        rest_frames, rest_voiced = self._frames[at:], self._voiced[at:]
        self._start_sample += at * self.frame_len
        self._frames, self._voiced = rest_frames, rest_voiced
        self._end_keep = None
        # The hangover counts from the last voice, not from the split: a turn committed at a pause
        # that was its end closes a hangover after its last word.
        self._silent_run = next((i for i, v in enumerate(reversed(rest_voiced)) if v), len(rest_voiced))
        self._utterance_id = self.next_id()
        if utterance is not None:
            # A piece of a turn that goes on, when turns are committed (the engine joins them).
            utterance.continues = self._turn_open = self.opts.commit_after_s > 0
            self._last_piece = utterance.id
            yield utterance

    def _close(self, keep: int, force: bool = False) -> Utterance | None:
        """The first `keep` frames as an utterance; None if too little is voiced, unless `force` (the
        end of a turn whose earlier pieces went out: an utterance, if silent, says the turn is over)."""
        if not self._frames:
            return None
        keep = max(1 if force else 0, min(keep, len(self._frames)))
        if not force and (sum(self._voiced[:keep]) < self._min_voiced or keep == 0):
            return None
        audio = np.concatenate(self._frames[:keep])
        start = self._start_sample / SAMPLE_RATE
        timeline = Timeline()
        now = time.monotonic()
        timeline.stamp("speech_end", now)
        last_voiced = max((i for i, v in enumerate(self._voiced[:keep]) if v), default=keep - 1)
        eou_delay = (len(self._frames) - 1 - last_voiced) * self.frame_len / SAMPLE_RATE
        # Live audio arrives as it is spoken: the last word ended eou_delay (+ the frame) before now.
        timeline.stamp("last_voice", now - eou_delay - self.frame_len / SAMPLE_RATE)
        return Utterance(
            id=self._utterance_id,
            speaker=self.speaker,
            start=start,
            end=start + len(audio) / SAMPLE_RATE,
            audio=audio,
            timeline=timeline,
            eou_delay=round(eou_delay, 3),
        )


class SpeakerSegmenters:
    """One `Segmenter` per speaker of a source, made on first sight of that speaker.

    A stereo file or device yields chunks of two speakers; each needs its own
    VAD state. The engine and the benchmark both cut audio through this.
    """

    def __init__(self, options: SegmenterOptions | None = None, next_id: Callable[[], int] | None = None,
                 speculate: bool = False, turn_end: TurnJudge | None = None) -> None:
        self.options = options or SegmenterOptions()
        self.next_id = next_id or itertools.count().__next__
        self.speculate = speculate
        self.turn_end = turn_end  # one judge for every speaker (ONNX Runtime sessions are thread-safe)
        self.by_speaker: dict[str, Segmenter] = {}

    def get(self, speaker: str) -> Segmenter:
        seg = self.by_speaker.get(speaker)
        if seg is None:
            seg = self.by_speaker[speaker] = Segmenter(speaker, self.options, self.next_id, self.speculate,
                                                       self.turn_end)
        return seg

    def feed(self, chunk: AudioChunk) -> Iterator[Utterance]:
        yield from self.get(chunk.speaker).feed(chunk)

    def flush(self) -> Iterator[Utterance]:
        for seg in self.by_speaker.values():
            yield from seg.flush()
