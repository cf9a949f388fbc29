"""The bench's WER (pipeline/bench/wer.py, no jiwer at run time) equals jiwer's corpus WER."""

from __future__ import annotations

import random

import pytest

from pipeline.bench.wer import normalise, wer, word_edits


def test_word_edits():
    assert word_edits("a b c".split(), "a x c d".split()) == 2
    assert word_edits([], "a b".split()) == 2 and word_edits("a b".split(), []) == 2


def test_same_as_jiwer_on_random_lines():
    jiwer = pytest.importorskip("jiwer")
    rng = random.Random(0)
    words = "a b c d the model we 5 five don't".split()
    for _ in range(300):
        refs = [" ".join(rng.choices(words, k=rng.randint(0, 12))) for _ in range(rng.randint(1, 4))]
        hyps = [" ".join(rng.choices(words, k=rng.randint(0, 12))) for _ in refs]
        keep = [i for i, r in enumerate(refs) if normalise(r)]
        refs_n, hyps_n = [normalise(refs[i]) for i in keep], [normalise(hyps[i]) for i in keep]
        assert wer(refs, hyps) == pytest.approx(float(jiwer.wer(refs_n, hyps_n)) if keep else 0)
