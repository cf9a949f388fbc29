"""Who-spoke-when scored: right / wrong / unknown by speech time, and the diarization error rate.

Both work on a 1 ms grid. Hypothesis labels are mapped to true speakers by the best one-to-one
assignment (most time in common, Hungarian), as pyannote.metrics does.

- `attribution`: of the reference speech time (any true speaker talking), the share under a
  label mapped to one of the speakers talking then (`right`), under another label (`wrong`),
  under `unknown` (`unknown`), or under no utterance at all (`missed`: the segmenter dropped it).
- `der`: pyannote.metrics' `DiarizationErrorRate` (missed + false alarm + confusion over total
  reference speech, overlap scored). `collar` is pyannote's: the *total* width of the zone
  removed around every reference boundary, so `collar=0.5` is the usual +-0.25 s (NIST md-eval).
  `unknown` segments are left out of the hypothesis (speech not attributed counts as missed).
  Checked against pyannote-metrics 4.2.0 on a hand example and on the bench's output
  (tests/test_real_speakers.py has the hand example); pyannote is not a dependency.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

STEP = 0.001  # grid, seconds
UNKNOWN = "unknown"

Segments = list[tuple[float, float, str]]  # (start s, end s, label)


def read_rttm(path: Path) -> dict[str, Segments]:
    """RTTM `SPEAKER` lines: file id -> [(start, end, speaker)]."""
    out: dict[str, Segments] = defaultdict(list)
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        f = line.split()
        if f and f[0] == "SPEAKER":
            start, duration = float(f[3]), float(f[4])
            out[f[1]].append((start, start + duration, f[7]))
    return dict(out)


def _grid(segments: Segments, n: int) -> tuple[list[str], np.ndarray]:
    labels = sorted({s for _, _, s in segments})
    active = np.zeros((len(labels), n), bool)
    for start, end, label in segments:
        active[labels.index(label), max(0, round(start / STEP)):max(0, round(end / STEP))] = True
    return labels, active


def _mapping(ref: np.ndarray, hyp: np.ndarray, mask: np.ndarray) -> list[tuple[int, int]]:
    """(ref row, hyp row) pairs with the most time in common, one to one."""
    if not len(ref) or not len(hyp):
        return []
    common = (ref[:, None, :] & hyp[None, :, :] & mask).sum(axis=2)
    rows, cols = linear_sum_assignment(-common)
    return [(int(r), int(c)) for r, c in zip(rows, cols) if common[r, c] > 0]


def _length(reference: Segments, hypothesis: Segments) -> int:
    end = max([e for _, e, _ in reference + hypothesis], default=0.0)
    return int(np.ceil(end / STEP)) + 1


def attribution(reference: Segments, hypothesis: Segments) -> dict:
    """Shares of reference speech time: right, wrong, unknown, missed (they sum to 1); `seconds`."""
    n = _length(reference, hypothesis)
    _, ref = _grid(reference, n)
    labels, hyp = _grid([s for s in hypothesis if s[2] != UNKNOWN], n)
    _, unknown = _grid([s for s in hypothesis if s[2] == UNKNOWN], n)
    speech = ref.any(axis=0)
    right = np.zeros(n, bool)
    for r, h in _mapping(ref, hyp, speech):
        right |= ref[r] & hyp[h]
    labelled = hyp.any(axis=0) & speech
    heard_unknown = (unknown.any(axis=0) if len(unknown) else np.zeros(n, bool)) & speech & ~labelled
    total = max(int(speech.sum()), 1)
    shares = {"right": right.sum(), "wrong": (labelled & ~right).sum(), "unknown": heard_unknown.sum(),
              "missed": (speech & ~labelled & ~heard_unknown).sum()}
    return {"seconds": round(total * STEP, 3), **{k: round(int(v) / total, 4) for k, v in shares.items()},
            "labels": len(labels)}


def der(reference: Segments, hypothesis: Segments, collar: float = 0.5, uem: tuple[float, float] | None = None) -> dict:
    """pyannote.metrics' diarization error rate and its parts (seconds), `collar` as pyannote's."""
    hypothesis = [s for s in hypothesis if s[2] != UNKNOWN]
    n = _length(reference, hypothesis)
    _, ref = _grid(reference, n)
    _, hyp = _grid(hypothesis, n)
    mask = np.zeros(n, bool)
    if uem is None:  # pyannote's default: the extent of both
        spans = reference + hypothesis
        uem = (min(s for s, _, _ in spans), max(e for _, e, _ in spans)) if spans else (0.0, 0.0)
    mask[round(uem[0] / STEP):round(uem[1] / STEP)] = True
    half = collar / 2
    for start, end, _ in reference if collar > 0 else []:
        for t in (start, end):
            mask[max(0, round((t - half) / STEP)):max(0, round((t + half) / STEP))] = False
    r, h = ref.sum(axis=0) * mask, hyp.sum(axis=0) * mask
    correct = np.zeros(n)
    for i, j in _mapping(ref, hyp, mask):
        correct += ref[i] & hyp[j] & mask
    total = float(r.sum()) * STEP
    parts = {"missed": float(np.maximum(r - h, 0).sum()) * STEP,
             "false_alarm": float(np.maximum(h - r, 0).sum()) * STEP,
             "confusion": float((np.minimum(r, h) - correct).sum()) * STEP}
    rate = sum(parts.values()) / total if total else 0.0
    return {"der": round(rate, 4), "total": round(total, 3), **{k: round(v, 3) for k, v in parts.items()}}
