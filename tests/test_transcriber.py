"""pipeline.audio.transcriber: the real tiny.en model on espeak speech, and its guards."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SENTENCE_A, SENTENCE_B, SENTENCE_C, SR, silence, wer, white_noise

from pipeline.audio.transcriber import Transcriber, TranscriberOptions, collapse_repeats
from pipeline.errors import ModelNotFoundError
from pipeline.events import Transcript, Utterance

MAX_WER = 0.15  # one wrong word in these 7-8 word sentences (tiny.en gets 0-1 today)


def utterance(audio: np.ndarray, speaker: str = "candidate") -> Utterance:
    return Utterance(id=7, speaker=speaker, start=1.0, end=1.0 + len(audio) / SR, audio=audio.astype(np.float32))


# -- collapse_repeats ------------------------------------------------------------------


def max_run(words: list[str], phrase: list[str]) -> int:
    """Longest back-to-back run of `phrase` in `words`."""
    n, best = len(phrase), 0
    for i in range(len(words)):
        run = 0
        while words[i + run * n : i + (run + 1) * n] == phrase:
            run += 1
        best = max(best, run)
    return best


@pytest.mark.parametrize(
    "text, phrase, tail",
    [
        ("I think that I think that I think that I think that I think that we should go", "I think that", "we should go"),
        ("the model the model the model the model the model works well", "the model", "works well"),
        ("Thank you. Thank you. Thank you. Thank you. Thank you. Thank you.", "Thank you.", ""),
        ("so we trained it no no no no no no no no and it worked", "no", "and it worked"),
    ],
)
def test_collapse_repeats_cuts_loops(text, phrase, tail):
    out = collapse_repeats(text)
    words = out.split()
    assert len(words) < len(text.split())
    assert 1 <= max_run(words, phrase.split()) <= 2
    assert out.endswith(tail)


@pytest.mark.parametrize(
    "text",
    [
        "I built a feature store and we monitored drift in production every day",
        "it was very very hard but we shipped it on time",
        "we tested it, tested it again, and then shipped it",
        "no no no",
        "yes",
        "",
    ],
)
def test_collapse_repeats_leaves_normal_text(text):
    assert collapse_repeats(text) == text


# -- the real model --------------------------------------------------------------------


@pytest.mark.parametrize("sentence", [SENTENCE_A, SENTENCE_B, SENTENCE_C])
def test_transcribes_espeak_sentence(transcriber, tts, sentence):
    audio = np.concatenate([silence(0.3), tts(sentence), silence(0.3)])
    u = utterance(audio)
    result = transcriber.transcribe(u)

    assert isinstance(result, Transcript)
    assert result.utterance is u
    assert result.dropped_reason is None
    assert wer(sentence, result.text) < MAX_WER, result.text
    assert {"asr_start", "asr_done"} <= set(u.timeline.stamps)
    assert u.timeline.stamps["asr_done"] >= u.timeline.stamps["asr_start"]


def test_digital_silence_gives_no_text(transcriber):
    result = transcriber.transcribe(utterance(silence(3.0)))
    assert result.text == ""
    assert result.dropped_reason


@pytest.mark.parametrize("seconds", [1.0, 4.0])
def test_white_noise_gives_no_text(transcriber, seconds):
    noise = white_noise(seconds, -20, seed=11)
    result = transcriber.transcribe(utterance(noise))
    assert result.text == "", f"hallucinated {result.text!r} from noise"
    assert result.dropped_reason


def test_unknown_model_name():
    with pytest.raises(ModelNotFoundError) as info:
        Transcriber(TranscriberOptions(model="tiny.nonsense"))
    message = str(info.value)
    assert "tiny.nonsense" in message
    assert "tiny.en" in message  # says which names it knows
    assert "\n" not in message


def test_missing_model_folder(tmp_path):
    with pytest.raises(ModelNotFoundError) as info:
        Transcriber(TranscriberOptions(model=str(tmp_path / "no-such-model")))
    assert "no-such-model" in str(info.value)


def test_folder_without_model(tmp_path):
    with pytest.raises(ModelNotFoundError) as info:
        Transcriber(TranscriberOptions(model=str(tmp_path)))
    assert str(tmp_path) in str(info.value)


def test_context_does_not_leak(tts):
    """With the previous sentence as prompt, the next utterance is still only what was said in it."""
    from pipeline.audio.transcriber import Transcriber, TranscriberOptions
    from pipeline.events import Timeline, Utterance

    t = Transcriber(TranscriberOptions(context_chars=200))

    def utterance(text: str, i: int) -> Utterance:
        audio = np.concatenate([np.zeros(4000, np.float32), tts(text), np.zeros(4000, np.float32)])
        return Utterance(id=i, speaker="candidate", start=0.0, end=len(audio) / 16000, audio=audio, timeline=Timeline())

    first = t.transcribe(utterance("Please tell me about your last job.", 0)).text
    second = t.transcribe(utterance("The dog ran to the park.", 1)).text
    quiet = t.transcribe(Utterance(id=2, speaker="candidate", start=0.0, end=1.0,
                                   audio=np.random.default_rng(0).normal(0, 0.02, 16000).astype(np.float32),
                                   timeline=Timeline())).text
    assert "last job" in first.lower()
    assert "dog" in second.lower() and "job" not in second.lower()
    assert "job" not in quiet.lower()


def test_prompt_echo_dropped():
    from pipeline.audio.transcriber import drop_prompt_echo

    prompt = "I trained the model every week. We checked the results."
    assert drop_prompt_echo("We checked the results.", prompt) == ""
    assert drop_prompt_echo("checked the results. Then we shipped it.", prompt) == "Then we shipped it."
    assert drop_prompt_echo("Then we shipped it.", prompt) == "Then we shipped it."
    assert drop_prompt_echo("The results.", prompt) == "The results."  # too short to call an echo
    # said again, at a speaking rate for its audio: a repeat, not an echo
    assert drop_prompt_echo("We checked the results.", prompt, seconds=2.0) == "We checked the results."
    assert drop_prompt_echo("We checked the results.", prompt, seconds=0.5) == ""


def test_a_sentence_said_twice_is_heard_twice(transcriber, tts):
    """"Could you repeat that?" - the same words again are speech, not an echo of the prompt."""
    audio = np.concatenate([silence(0.3), tts(SENTENCE_A), silence(0.3)])
    first = transcriber.transcribe(utterance(audio))
    again = transcriber.transcribe(utterance(audio.copy()))
    assert wer(SENTENCE_A, first.text) < MAX_WER and wer(SENTENCE_A, again.text) < MAX_WER, (first.text, again.text)
