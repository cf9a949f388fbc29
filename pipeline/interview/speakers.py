"""Who said it, on one mixed source: voices clustered online, clusters named by what they say.

Text alone guesses a role for half the words (a bank question is the
interviewer's; a red flag or a long statement the candidate's). The voice
carries the rest: each final utterance's voice vector joins the nearest
cluster (cosine to its centroid) or, when none is close and the utterance is
long enough to trust its vector, opens a new one. The text labeler's guesses
are votes for the utterance's cluster; a cluster is named by its votes (see
`_names`), and once one role is known the largest other voice takes the other. Voices beyond two are `speaker-3`, `speaker-4`... (a panel), never
folded into the candidate. When a cluster is named or renamed, its earlier
utterances are re-labelled: `revisions()` returns them as transcript events
with the same `utterance_id` and a higher `revision`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from pipeline.audio.voices import VoiceEncoder
from pipeline.engine import SpeakerLabeler
from pipeline.events import Speaker, Transcript, TranscriptEvent, latency_of


@dataclass
class SpeakerOptions:
    """Online clustering of voices.

    Attributes:
      join: cosine similarity to a cluster's centroid needed to join it (demo: same voice
        0.84-0.99, different voices at most 0.54).
      min_new_s: an utterance shorter than this never opens a cluster (its vector is noisy);
        it joins the nearest cluster if that is at least `join_short` similar, else stays `unknown`.
      join_short: the looser bar for short utterances.
      min_voice_s: a cluster with less speech than this is not named by exclusion and is not
        reported as an extra voice (`unknown` instead): one stray vector is not a person.
      switch_margin: how many more interviewer votes another voice needs to take the role over.
    """

    join: float = 0.70
    min_new_s: float = 1.5
    join_short: float = 0.60
    min_voice_s: float = 4.0
    switch_margin: int = 2


@dataclass
class _Cluster:
    number: int  # 1-based order of appearance: speaker-3 is the third voice heard
    total: np.ndarray
    seconds: float = 0.0
    votes: dict[str, int] = field(default_factory=lambda: {"interviewer": 0, "candidate": 0})

    @property
    def centroid(self) -> np.ndarray:
        return self.total / max(float(np.linalg.norm(self.total)), 1e-9)

    def lean(self, role: str) -> int:
        other = "candidate" if role == "interviewer" else "interviewer"
        return self.votes[role] - self.votes[other]


@dataclass
class _Heard:
    event: TranscriptEvent  # as last emitted
    cluster: int | None


class VoiceLabeler:
    """The engine's `SpeakerLabeler` for a mixed source: voice clusters named by the text labeler's votes."""

    def __init__(self, encoder: VoiceEncoder, text: SpeakerLabeler, options: SpeakerOptions | None = None) -> None:
        self.encoder = encoder
        self.text = text
        self.opts = options or SpeakerOptions()
        self.clusters: list[_Cluster] = []
        self.heard: list[_Heard] = []
        self._pending: list[TranscriptEvent] = []
        self._interviewer: int | None = None  # the cluster holding the role, kept unless outvoted

    def label_speaker(self, transcript: Transcript) -> Speaker:
        u = transcript.utterance
        started = time.monotonic()
        vector = self.encoder.embed(u.audio)
        u.timeline.extra_ms["voice"] = round((time.monotonic() - started) * 1000.0, 1)
        vote = self.text.label_speaker(transcript)
        cluster = self._assign(vector, u.duration)
        if cluster is not None and vote in ("interviewer", "candidate"):
            cluster.votes[vote] += 1
        names = self._names()
        speaker = names.get(cluster.number, "unknown") if cluster else "unknown"
        self._revise(names)
        event = TranscriptEvent(utterance_id=u.id, speaker=speaker, start=round(u.start, 3), end=round(u.end, 3),
                                text=transcript.text, final=True, latency_ms=latency_of(u.timeline))
        self.heard.append(_Heard(event, cluster.number if cluster else None))
        return speaker

    def revisions(self) -> list[TranscriptEvent]:
        """Earlier utterances whose speaker changed since the last call, as revision events."""
        out, self._pending = self._pending, []
        return out

    def _assign(self, vector: np.ndarray, seconds: float) -> _Cluster | None:
        best, similarity = None, -1.0
        for cluster in self.clusters:
            s = float(cluster.centroid @ vector)
            if s > similarity:
                best, similarity = cluster, s
        long_enough = seconds >= self.opts.min_new_s
        if best is not None and similarity >= (self.opts.join if long_enough else self.opts.join_short):
            best.total = best.total + vector * seconds
            best.seconds += seconds
            return best
        if not long_enough:
            return None
        cluster = _Cluster(number=len(self.clusters) + 1, total=vector * seconds, seconds=seconds)
        self.clusters.append(cluster)
        return cluster

    def _names(self) -> dict[int, str]:
        """cluster number -> speaker.

        The interviewer is the voice whose votes lean most that way; once named, another voice
        takes the role only when it leans `switch_margin` votes more (a candidate who restates a
        question votes wrongly now and then). The candidate is the other voice that leans their
        way, or failing that the largest other voice; whichever role is known first, the largest
        other voice takes the second.
        """
        by_number = {c.number: c for c in self.clusters}
        interviewer = by_number.get(self._interviewer) if self._interviewer is not None else None
        best = max(self.clusters, key=lambda c: (c.lean("interviewer"), c.seconds), default=None)
        if best is not None and best.lean("interviewer") > 0 and (
                interviewer is None
                or best.lean("interviewer") >= interviewer.lean("interviewer") + self.opts.switch_margin):
            interviewer = best

        def largest(exclude) -> _Cluster | None:
            voices = [c for c in self.clusters if c not in exclude and c.seconds >= self.opts.min_voice_s]
            return max(voices, key=lambda c: c.seconds, default=None)

        leaning = [c for c in self.clusters if c is not interviewer and c.lean("candidate") > 0]
        candidate = max(leaning, key=lambda c: (c.lean("candidate"), c.seconds), default=None)
        if candidate is None and interviewer is not None:
            candidate = largest([interviewer])
        if interviewer is None and candidate is not None:
            interviewer = largest([candidate])
        self._interviewer = interviewer.number if interviewer is not None else None
        names = {c.number: role for c, role in ((interviewer, "interviewer"), (candidate, "candidate")) if c}
        for c in self.clusters:
            if c.number not in names and c.seconds >= self.opts.min_voice_s:
                names[c.number] = f"speaker-{c.number}"
        return names

    def _revise(self, names: dict[int, str]) -> None:
        for h in self.heard:
            speaker = names.get(h.cluster, "unknown") if h.cluster is not None else "unknown"
            if speaker != h.event.speaker:
                h.event = TranscriptEvent(**{**h.event.__dict__, "speaker": speaker,
                                             "revision": h.event.revision + 1})
                self._pending.append(h.event)


def build_voice_labeler(text: SpeakerLabeler, options: SpeakerOptions | None = None) -> VoiceLabeler:
    """Loads and warms the voice model before any audio (a missing model fails here, not mid-call)."""
    return VoiceLabeler(VoiceEncoder().warm_up(), text, options)
