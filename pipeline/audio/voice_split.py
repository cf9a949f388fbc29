"""A *voice split*: two voices in one utterance (one person took over without a pause), cut apart
where the voice changes.

The segmenter closes an utterance after a pause; when the other person starts talking within
the hangover, both turns arrive as one utterance from a mixed source. `VoiceSplitter` runs the
voice model over sliding 1.6 s windows of the utterance (one batch, `hop_s` apart). Candidate
boundaries are where the windows of the `context_s` before and after differ (several turns can
share one utterance: whole halves would mix them); each candidate is then checked with the whole
stretches up to its neighbours, the weakest failing one dropped until all pass. The utterance is
cut at the quietest frame near each boundary that is left.

"Differ enough" has two tests:
- raw: cosine distance between the two means of at least `raw_split`. Measured on 1.6 s
  windows: within one real or demo voice at most 0.24 (0.08-0.20 typical); two real voices
  (codec2 radio speakers, the Asterisk prompt voice, the demo's) 0.38-0.60, but two men on
  radio (codec2 david4 / vk2tpm) 0.22-0.44. With the defaults, 29 one-voice 20 s stretches (real,
  demo, espeak, turns of one voice joined back to back) were never cut, also at 0.22; between
  0.25 and 0.32 the cuts found on back-to-back mixes changed little (28-31 of 37 changes).
- against the session's voices (once the labeler has two named clusters): the two means,
  centred on the session's mean voice, are nearest to different clusters, each at least
  `join` similar, and at least `centred_split` apart. Synthetic voices sit in one corner of the
  space (two espeak-ng voices 0.86-0.95 similar) and only part after centring: one voice
  at most 0.97 (usually 0.5-0.8), an espeak male/female pair 1.55-1.75. Two near-identical
  espeak voices (en-us / en-gb) do not part even then: such utterances stay whole.

The windows double as the utterance's voice vector: the labeler reuses them (`vectors`)
instead of embedding the same audio again. Measured on the loaded 2-core machine (utterances of
4 s or more, alone): split p50 167 ms / p95 502 ms against 138 / 365 ms for the one embedding
it replaces; it now runs before ASR instead of after it (`python -m benchmarks.speakers`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Callable, Protocol

import numpy as np

from pipeline.audio.voices import (
    HOP,
    PARTIAL_FRAMES,
    SAMPLE_RATE,
    VoiceEncoder,
    normalise_volume,
    unit,
)
from pipeline.events import Timeline, Utterance

WINDOW = PARTIAL_FRAMES * HOP  # samples in one voice window (1.6 s)


@dataclass
class VoiceSplitOptions:
    """When and where an utterance from a mixed source is cut in two.

    Attributes:
      min_s: utterances shorter than this are never searched (two parts of `min_part_s`, plus
        the windows' reach, need about this much audio).
      hop_s: step between voice windows; also the resolution of the change point before the
        quietest-frame search.
      min_windows: windows needed wholly on each side of a candidate boundary (2 at 0.5 s).
      short_stretch: a stretch with fewer windows than this (3: under 2.6 s) is noisier, so a cut
        next to it needs `short_margin` times the score (with 1.0 a radio voice's last 2 s were
        cut off at a score of 1.16; 1.3 lost 4 of 28 back-to-back changes found, 1.2 none).
      short_margin: see `short_stretch`.
      context_s: audio each side of a boundary compared when looking for candidates (several
        turns can be in one utterance: whole halves would mix them).
      candidate: share of a cut's threshold that makes a candidate boundary; each candidate is
        then kept only if the whole stretches between its neighbours pass the threshold itself.
      min_gap_s: candidates at least this far apart (the shortest turn that can be cut out).
      raw_split: cosine distance between the two sides' mean vectors that cuts on its own.
      centred_split: the same distance after centring on the session's mean voice, needed (with
        nearest clusters that differ) when the raw test does not cut.
      join: similarity of each side to its nearest cluster (centred) for the centred test.
      search_s: the cut goes at the quietest 30 ms frame within this distance of the boundary.
      max_parts: at most this many parts from one utterance.
    """

    min_s: float = 4.0
    hop_s: float = 0.5
    min_windows: int = 2
    short_stretch: int = 3
    short_margin: float = 1.2
    raw_split: float = 0.30
    centred_split: float = 1.1
    join: float = 0.4
    context_s: float = 3.0
    candidate: float = 0.9
    min_gap_s: float = 2.0
    search_s: float = 0.8
    max_parts: int = 8


class VoiceSpace(Protocol):
    """What the session already knows about its voices (the labeler provides it)."""

    def voice_space(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(mean voice, centred unit centroids of the named clusters as rows), or None while unsure."""
        ...


class VoiceSplitter:
    """The engine's `UtteranceSplitter`: cuts where the voice changes, returns one voice whole."""

    def __init__(self, encoder: VoiceEncoder, options: VoiceSplitOptions | None = None,
                 space: VoiceSpace | None = None) -> None:
        self.encoder = encoder
        self.opts = options or VoiceSplitOptions()
        self.space = space
        self.vectors: dict[int, np.ndarray] = {}  # utterance id -> its voice vector, for the labeler
        self.timings_ms: list[float] = []

    def split(self, utterance: Utterance, next_id: Callable[[], int]) -> list[Utterance]:
        """The utterance in parts, one voice each (the first keeps its id); whole when one voice."""
        if utterance.duration < self.opts.min_s or not utterance.final:
            return [utterance]
        started = time.monotonic()
        vectors, starts = self.windows(utterance.audio)
        space = self.space.voice_space() if self.space is not None else None
        n = len(utterance.audio)
        bounds = self.verified(vectors, starts, self.candidates(vectors, starts, space), n, space)
        cuts = [quietest(utterance.audio, t, self.opts.search_s, 0, n) for t in bounds]
        cuts = [c for k, c in enumerate(cuts) if k == 0 or c > cuts[k - 1]]
        elapsed = round((time.monotonic() - started) * 1000.0, 1)
        self.timings_ms.append(elapsed)
        edges = [0, *cuts, len(utterance.audio)]
        parts = []
        for k, (a, b) in enumerate(zip(edges, edges[1:])):
            uid = utterance.id if k == 0 else next_id()
            timeline = Timeline(dict(utterance.timeline.stamps), dict(utterance.timeline.extra_ms))
            timeline.extra_ms["split"] = elapsed
            last = k == len(edges) - 2
            parts.append(replace(utterance, id=uid, start=utterance.start + a / SAMPLE_RATE,
                                 end=utterance.start + b / SAMPLE_RATE, audio=utterance.audio[a:b],
                                 timeline=timeline, eou_delay=utterance.eou_delay if last else 0.0))
            inside = [i for i, s in enumerate(starts) if s >= a and s + WINDOW <= b]
            if inside:
                self.vectors[uid] = unit(vectors[inside].mean(axis=0)).astype(np.float32)
        while len(self.vectors) > 64:  # utterances the labeler never saw (dropped as silence)
            self.vectors.pop(next(iter(self.vectors)))
        return parts

    def windows(self, audio: np.ndarray) -> tuple[np.ndarray, list[int]]:
        """Voice vectors of 1.6 s windows `hop_s` apart (one batch), and each one's first sample."""
        audio = normalise_volume(audio)
        mel = self.encoder.mel_frames(audio)
        step = max(1, round(self.opts.hop_s * SAMPLE_RATE / HOP))
        frames = list(range(0, max(1, len(mel) - PARTIAL_FRAMES + 1), step))
        if len(mel) < PARTIAL_FRAMES:
            mel = np.pad(mel, ((0, PARTIAL_FRAMES - len(mel)), (0, 0)))
        vectors = self.encoder.forward(np.stack([mel[f:f + PARTIAL_FRAMES] for f in frames]))
        return vectors, [f * HOP for f in frames]

    def _test(self, left: np.ndarray, right: np.ndarray, space) -> tuple[bool, float]:
        """Whether two runs of windows are two voices, and how strongly (1.0: at the threshold)."""
        mean_l, mean_r = left.mean(axis=0), right.mean(axis=0)
        raw = 1.0 - float(unit(mean_l) @ unit(mean_r))
        passed, score = raw >= self.opts.raw_split, raw / self.opts.raw_split
        if space is not None:
            centre, centroids = space
            cl, cr = unit(mean_l - centre), unit(mean_r - centre)
            centred = 1.0 - float(cl @ cr)
            sl, sr = centroids @ cl, centroids @ cr
            apart = (int(np.argmax(sl)) != int(np.argmax(sr)) and min(sl.max(), sr.max()) >= self.opts.join
                     and centred >= self.opts.centred_split)
            passed, score = passed or apart, max(score, centred / self.opts.centred_split)
        return passed, score

    def _sides(self, starts: list[int], a: int, t: int, b: int) -> tuple[list[int], list[int]]:
        left = [j for j, s in enumerate(starts) if s >= a and s + WINDOW <= t]
        right = [j for j, s in enumerate(starts) if s >= t and s + WINDOW <= b]
        return left, right

    def candidates(self, vectors: np.ndarray, starts: list[int], space) -> list[tuple[int, float]]:
        """Boundaries where the `context_s` of windows before and after differ at least
        `candidate` as much as a cut needs, `min_gap_s` apart (the stronger kept), with their scores."""
        context = int(self.opts.context_s * SAMPLE_RATE)
        curve = []
        for t in starts:
            left, right = self._sides(starts, t - context, t, t + context)
            if len(left) >= self.opts.min_windows and len(right) >= self.opts.min_windows:
                curve.append((self._test(vectors[left], vectors[right], space)[1], t))
        peaks: list[tuple[int, float]] = []
        for score, t in sorted(curve, reverse=True):
            if score < self.opts.candidate:
                break
            if all(abs(t - p) >= self.opts.min_gap_s * SAMPLE_RATE for p, _ in peaks):
                peaks.append((t, score))
        return sorted(peaks)

    def verified(self, vectors: np.ndarray, starts: list[int], found: list[tuple[int, float]], n: int,
                 space) -> list[int]:
        """Candidate boundaries kept only where the whole stretches on both sides (up to the
        neighbouring boundaries) are two voices; the weakest failing one goes first, then again
        (a stretch too short to judge fails both its ends: the one with the weaker candidate goes)."""
        bounds = [t for t, _ in found]
        local = dict(found)
        while bounds:
            edges = [0, *bounds, n]
            failing = []
            for k, t in enumerate(bounds):
                left, right = self._sides(starts, edges[k], t, edges[k + 2])
                if min(len(left), len(right)) < self.opts.min_windows:
                    failing.append((local[t] - 100.0, k))
                    continue
                passed, score = self._test(vectors[left], vectors[right], space)
                if min(len(left), len(right)) < self.opts.short_stretch:
                    passed = score >= self.opts.short_margin
                if not passed:
                    failing.append((score, k))
            if not failing:
                break
            bounds.pop(min(failing)[1])
        return bounds[:self.opts.max_parts - 1]


def quietest(audio: np.ndarray, near: int, search_s: float, a: int = 0, b: int | None = None) -> int:
    """The start of the quietest 30 ms frame within `search_s` of sample `near` (inside [a, b))."""
    frame = int(0.03 * SAMPLE_RATE)
    b = len(audio) if b is None else b
    lo = max(a + frame, near - int(search_s * SAMPLE_RATE))
    hi = min(b - 2 * frame, near + int(search_s * SAMPLE_RATE))
    if hi <= lo:
        return near
    offsets = np.arange(lo, hi, frame // 3)
    energy = [float(np.mean(audio[o:o + frame] ** 2)) for o in offsets]
    return int(offsets[int(np.argmin(energy))] + frame // 2)


def build_voice_splitter(labeler, options: VoiceSplitOptions | None = None) -> VoiceSplitter:
    """A splitter sharing the labeler's voice model and session voices; the labeler then reuses
    the splitter's vectors."""
    splitter = VoiceSplitter(labeler.encoder, options, space=labeler)
    labeler.reuse_vectors(splitter.vectors)
    return splitter
