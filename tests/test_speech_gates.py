"""The speech gates: laughter, sounds, unsure words and the other side's voice make no line."""

from __future__ import annotations

import numpy as np

from pipeline.audio import SAMPLE_RATE
from pipeline.audio.speech_gates import SpeakerLevels, SpeechGates, is_sound, voice_level_dbfs
from benchmarks.nonspeech import lines_on, synthesized
from pipeline.events import Utterance


def test_laughter_and_sound_tags_are_sounds_and_words_are_not():
    for text in ("Hahahahaha", "Heh, heh, hah, hah.", "Ah, ah, ah!", "LAUGHTER", "[Music]", "(laughs)", "Mm-hmm.",
                 "EH"):
        assert is_sound(text), text
    for text in ("Hi.", "Oh, I see.", "He said no.", "Hello", "Ha ha, that was my first model."):
        assert not is_sound(text), text


def test_each_gate_names_its_reason():
    gates = SpeechGates()
    assert gates.segment_reason("Thank you.", 0.9, -1.2) == "no speech"
    assert gates.segment_reason("I'm so sorry.", 0.3, -1.98) == "unsure words"  # heard on recorded laughter
    # measured on English only: multilingual base is less sure of real Italian words
    assert gates.segment_reason("Controllavamo la latenza ogni giorno.", 0.1, -1.2, "it") is None
    assert gates.segment_reason("Thanks for watching!", 0.1, -0.3) == "caption hallucination"
    assert gates.segment_reason("Hahaha", 0.2, -0.6) == "laughter or sounds"
    assert gates.segment_reason("We retrained it every month.", 0.05, -0.3) is None
    assert SpeechGates(sound_words=False).segment_reason("Hahaha", 0.2, -0.6) is None


def test_a_voice_far_below_the_speakers_own_level_is_bleed(tts):
    speech = tts("We trained it on two years of sales data.")
    loud = speech * (10 ** (-20 / 20) / np.sqrt(np.mean(speech**2)))
    levels = SpeakerLevels(SpeechGates())
    assert not levels.bleed("candidate", loud * 0.01)  # no usual level yet: nothing to compare with
    levels.heard("candidate", loud)
    levels.heard("candidate", loud * 0.8)
    assert abs(voice_level_dbfs(loud) - voice_level_dbfs(loud * 0.1)) > 19
    assert levels.bleed("candidate", loud * 0.1)  # 20 dB down
    assert not levels.bleed("candidate", loud * 0.5)  # 6 dB down: the speaker, a little softer
    assert not levels.bleed("interviewer", loud * 0.1)  # each side has its own level


def test_the_first_pass_writes_no_line_on_synthesized_non_speech(transcriber, tts):
    said = ["We trained it on two years of sales data.", "Then we watched the error every week.",
            "Tell me about the last model you shipped."]
    clips = synthesized([tts(t) for t in said])
    kinds = {c.kind for c in clips}
    assert {"silence", "noise", "breath", "laughter", "cough", "bleed"} <= kinds
    assert lines_on(clips, transcriber) == []


def test_the_speakers_own_quiet_line_is_still_heard(transcriber, tts):
    """The bleed gate is relative to the speaker: their own speech 6 dB softer is a line."""
    speech = tts("Then we watched the error every week.")
    at = lambda db: (speech * (10 ** (db / 20) / np.sqrt(np.mean(speech**2)))).astype(np.float32)  # noqa: E731
    for i, audio in enumerate((at(-20), at(-20), at(-26))):
        u = Utterance(i, "candidate", 3.0 * i, 3.0 * i + len(audio) / SAMPLE_RATE, audio)
        text = transcriber.transcribe(u).text
        assert "every week" in text.lower(), (i, text)
