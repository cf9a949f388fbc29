"""The faster-whisper internals the transcriber and language detection lean on, checked by name and
signature: a fitted window needs CTranslate2's encoder and decoder directly, which faster-whisper has
no public API for. pyproject.toml pins the release range these were read from; a release that
renames or reshapes any of them fails here, before it fails a user's first utterance."""

from __future__ import annotations

import inspect
from importlib.metadata import version

import ctranslate2
import numpy as np
from faster_whisper import transcribe
from faster_whisper.tokenizer import Tokenizer

SAMPLE_RATE = 16000


def params(func) -> list[str]:
    return [p for p in inspect.signature(func).parameters if p != "self"]


def test_the_installed_release_is_in_the_pinned_range():
    major, minor, *_ = (int(x) for x in version("faster-whisper").split(".")[:2])
    assert (major, minor) == (1, 2), version("faster-whisper")


def test_module_level_helpers_keep_their_signatures():
    assert params(transcribe.get_compression_ratio) == ["text"]
    assert params(transcribe.get_suppressed_tokens) == ["tokenizer", "suppress_tokens"]
    assert params(transcribe.WhisperModel.get_prompt)[:3] == ["tokenizer", "previous_tokens", "without_timestamps"]
    assert "hotwords" in params(transcribe.WhisperModel.get_prompt)
    assert params(Tokenizer.__init__) == ["tokenizer", "multilingual", "task", "language"]


def test_a_loaded_model_exposes_what_a_fitted_window_decodes_with(loaded_transcriber):
    model = loaded_transcriber.model
    assert isinstance(model.model, ctranslate2.models.Whisper)
    assert callable(model.model.detect_language)  # pipeline/audio/language.py, on the same encoder output
    assert isinstance(model.max_length, int) and model.max_length > 100
    tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe",
                          language=None if not model.model.is_multilingual else "en")
    features = model.feature_extractor(np.zeros(2 * SAMPLE_RATE, np.float32), padding=0)
    assert features.ndim == 2 and features.shape[0] == model.feature_extractor.mel_filters.shape[0]
    frames = features.shape[-1] - features.shape[-1] % 2
    encoded = model.model.encode(ctranslate2.StorageView.from_array(np.ascontiguousarray(features[None, :, :frames])))
    prompt = model.get_prompt(tokenizer, [], without_timestamps=True, hotwords=None)
    result = model.model.generate(encoded, [prompt], beam_size=1, max_length=len(prompt) + 8, return_scores=True,
                                  return_no_speech_prob=True, suppress_blank=True,
                                  suppress_tokens=transcribe.get_suppressed_tokens(tokenizer, [-1]))[0]
    assert isinstance(tokenizer.decode(result.sequences_ids[0]), str)
    assert 0.0 <= result.no_speech_prob <= 1.0 and isinstance(result.scores[0], float)
