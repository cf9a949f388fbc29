"""Live listening: the real capture path through PulseAudio, Ctrl-C mid-session, keeping up.

The real device test needs no sound card: a PulseAudio daemon with a null sink
runs for the test, the demo interview is played into the sink, and `s2q listen`
records the sink's monitor through sounddevice/PortAudio (ALSA's pulse plugin).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from demo_checks import (
    DEMO,
    TURNS,
    check_compliance,
    check_red_flags,
    check_suggestions,
    excerpt,
    finals,
    speaker_accuracy,
    wrong_words,
)


class LineReader:
    """Collects a process's stdout lines on a thread, so the test can wait for one."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc) -> None:
        for line in proc.stdout:
            self.lines.append(line)

    def wait_for(self, predicate, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(predicate(line) for line in list(self.lines)):
                return True
            time.sleep(0.1)
        return False

    def join(self) -> None:
        self._thread.join(timeout=10)


@pytest.fixture()
def pulse(tmp_path):
    """A private PulseAudio daemon with a null sink `call`, its monitor the default source."""
    for tool in ("pulseaudio", "pactl", "paplay"):
        assert shutil.which(tool), f"{tool} missing: run `make sysdeps`"
    runtime = tmp_path / "pulse-runtime"
    runtime.mkdir(mode=0o700)
    env = dict(os.environ, XDG_RUNTIME_DIR=str(runtime), PULSE_SERVER=f"unix:{runtime}/pulse/native")
    env.pop("PULSE_SINK", None)
    subprocess.run(
        ["pulseaudio", "-D", "--exit-idle-time=-1", "-n", "--load=module-native-protocol-unix",
         "--load=module-null-sink sink_name=call"],
        env=env, check=True, capture_output=True, timeout=30,
    )
    for _ in range(50):
        if subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode == 0:
            break
        time.sleep(0.1)
    subprocess.run(["pactl", "set-default-source", "call.monitor"], env=env, check=True, timeout=10)
    yield env
    subprocess.run(["pulseaudio", "--kill"], env=env, capture_output=True, timeout=30)


def test_devices_lists_the_pulse_input(pulse):
    proc = subprocess.run([sys.executable, "-m", "pipeline", "devices"], env=pulse, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "pulse" in proc.stdout


# A minute of the demo, cut in pauses: a question, a red flag, a forbidden question, answers.
# The whole demo goes through the same pipeline in tests/test_demo_e2e.py (replay).
EXCERPT_S = (46.6, 99.85)
LIVE_TURNS = excerpt(*EXCERPT_S)
# Measured 2026-12-06 (load 9 on 2 shared cores, this test's record): 2 of 169 words wrong ("and" heard as "in"
# twice), every word on its speaker. Allowed: twice that plus four words (4.7%), and one short utterance's
# worth on the wrong speaker, as the replay of the whole demo (tests/test_demo_e2e.py).
LIVE_WRONG_WORDS_ALLOWED = 2 * 2 + 4
LIVE_WRONG_SPEAKER_WORDS_ALLOWED = 6


def heard_last_turn(lines: list[str]) -> bool:
    """A final transcript ends where the excerpt's last turn ends (aligned on the first final)."""
    events = [json.loads(line) for line in list(lines)]
    done = finals(events)
    if not done:
        return False
    offset = done[0]["start"] - LIVE_TURNS[0]["start"]
    return done[-1]["end"] >= LIVE_TURNS[-1]["end"] + offset - 1.0


def test_listen_captures_the_demo_played_into_a_sink(pulse, tmp_path):
    from conftest import write_wav

    from pipeline.audio.decode import decode_file

    start, end = (int(s * 16000) for s in EXCERPT_S)
    played = write_wav(tmp_path / "excerpt.wav", decode_file(DEMO, 2)[:, start:end])  # stereo, as recorded
    record = tmp_path / "live.jsonl"
    listen = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "listen", "--input", "pulse", "--channels", "interviewer,candidate",
         "--jsonl", "--record", str(record)],
        env=pulse, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    out = LineReader(listen)
    try:
        assert out.wait_for(lambda line: '"ready"' in line, timeout=120), listen.stderr.read()
        started = time.monotonic()
        subprocess.run(["paplay", "-d", "call", str(played)], env=pulse, check=True, timeout=400)
        played_s = time.monotonic() - started
        # Wait for the last turn's words to come out (not a fixed sleep: CI may be slow).
        assert out.wait_for(lambda _: heard_last_turn(out.lines), timeout=60), "the last turn never came out"
    finally:
        listen.send_signal(signal.SIGINT)
        rc = listen.wait(timeout=60)
        out.join()
    stderr = listen.stderr.read()
    assert rc == 0, stderr
    assert "Traceback" not in stderr
    assert "transcribed locally" in stderr  # the consent reminder, on by default
    events = [json.loads(line) for line in out.lines]
    assert events == [json.loads(line) for line in record.read_text().splitlines()]
    assert played_s > EXCERPT_S[1] - EXCERPT_S[0] - 1  # played in real time

    # Live audio time starts with the stream, not with playback: align on the first utterance.
    offset = finals(events)[0]["start"] - LIVE_TURNS[0]["start"]
    wrong, words = wrong_words(events, LIVE_TURNS)
    assert wrong <= LIVE_WRONG_WORDS_ALLOWED, f"{wrong} of {words} words wrong"
    share, heard = speaker_accuracy(events, offset, LIVE_TURNS)
    assert round((1 - share) * heard) <= LIVE_WRONG_SPEAKER_WORDS_ALLOWED, f"{(1 - share) * heard:.0f} of {heard}"
    check_red_flags(events, offset, LIVE_TURNS)
    check_compliance(events, offset, LIVE_TURNS)
    check_suggestions(events, LIVE_TURNS)
    partials = [e for e in events if e["type"] == "transcript" and not e["final"]]
    assert partials, "no partial transcript while someone was speaking"


def test_ctrl_c_halfway_keeps_the_record_and_the_report_renders_it(tmp_path):
    record = tmp_path / "half.jsonl"
    replay = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "replay", str(DEMO), "--channels", "interviewer,candidate",
         "--jsonl", "--record", str(record)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    out = LineReader(replay)
    try:
        finals_seen = lambda: sum('"transcript"' in x and '"final": true' in x for x in list(out.lines))  # noqa: E731
        assert out.wait_for(lambda _: finals_seen() >= 4, timeout=180)
    finally:
        replay.send_signal(signal.SIGINT)
        rc = replay.wait(timeout=60)
        out.join()
    stderr = replay.stderr.read()
    assert rc == 0, stderr
    assert "Traceback" not in stderr
    shown = [json.loads(line) for line in out.lines]
    kept = [json.loads(line) for line in record.read_text().splitlines()]
    transcripts = [e for e in shown if e["type"] == "transcript" and e["final"]]
    assert 4 <= len({t["utterance_id"] for t in transcripts}) < len([t for t in TURNS])  # stopped part way
    for event in shown:
        assert event in kept

    report = subprocess.run([sys.executable, "-m", "pipeline", "report", str(record), "-o", str(tmp_path / "r.md")],
                            capture_output=True, text=True, timeout=120)
    assert report.returncode == 0, report.stderr
    text = (tmp_path / "r.md").read_text()
    assert "## Talk time" in text
    settled = {t["utterance_id"]: t for t in transcripts}  # a revision (second pass) replaces the first text
    for t in settled.values():
        assert t["text"].replace("*", "\\*")[:30] in text or t["text"][:30] in text


def test_lag_stays_bounded_and_shedding_is_reported(transcriber):
    """Audio arriving 40x faster than real time: the transcriber can't keep up."""
    from pipeline.audio.sources import FileSource
    from pipeline.bench.latency import utterances_of
    from pipeline.engine import Engine, EngineOptions
    from pipeline.events import StatusEvent, TranscriptEvent

    speakers = ["interviewer", "candidate"]
    options = EngineOptions(backpressure=False, max_pending=2, max_lag_s=3.0, speculate=False)
    engine = Engine([FileSource(DEMO, speakers, realtime=True, speed=40)], transcriber, options=options)
    events = list(engine.events())
    shed = [e for e in events if isinstance(e, StatusEvent) and e.state == "shedding"]
    done = [e for e in events if isinstance(e, TranscriptEvent) and e.final]
    assert shed, "no status event said work was shed"
    assert done, "nothing was transcribed at all"
    for e in done:
        # Lag bounded: the engine drops what waited longer (checked just before the transcriber stamps
        # its start, hence a few ms of slack for a preempted thread on a busy machine).
        assert e.latency_ms["queue"] <= options.max_lag_s * 1000 + 100
    # Every utterance was either transcribed or reported as skipped: nothing vanished silently.
    _, utterances = utterances_of(DEMO, speakers)
    accounted = [(e.speaker, e.start) for e in done] + [(e.details["speaker"], e.details["start"]) for e in shed]
    for u in utterances:
        assert any(s == u.speaker and abs(start - u.start) < 0.05 for s, start in accounted), (u.speaker, u.start)


ASOUNDRC = """
pcm.s2q_mic {{ type pulse
    device "mic.monitor"
    hint {{ show on description "s2q test: the interviewer's microphone" }} }}
pcm.s2q_call {{ type pulse
    device "call.monitor"
    hint {{ show on description "s2q test: the call's audio" }} }}
"""


@pytest.fixture()
def two_devices(tmp_path):
    """Two PulseAudio null sinks, `mic` and `call`, whose monitors are two ALSA input devices."""
    runtime = tmp_path / "pulse-runtime"
    runtime.mkdir(mode=0o700)
    home = tmp_path / "home"
    home.mkdir()
    (home / ".asoundrc").write_text(ASOUNDRC.format())
    env = dict(os.environ, XDG_RUNTIME_DIR=str(runtime), PULSE_SERVER=f"unix:{runtime}/pulse/native", HOME=str(home))
    subprocess.run(
        ["pulseaudio", "-D", "--exit-idle-time=-1", "-n", "--load=module-native-protocol-unix",
         "--load=module-null-sink sink_name=call", "--load=module-null-sink sink_name=mic"],
        env=env, check=True, capture_output=True, timeout=30,
    )
    for _ in range(50):
        if subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode == 0:
            break
        time.sleep(0.1)
    yield env
    subprocess.run(["pulseaudio", "--kill"], env=env, capture_output=True, timeout=30)


def test_mic_and_call_as_two_devices_with_saved_audio(two_devices, tmp_path, tts, transcriber):
    """`--mic` is the interviewer, `--call` the candidate; `--save-audio` keeps each voice in its own WAV."""
    from conftest import SENTENCE_A, SENTENCE_C, read_wav, silence, wer, write_wav

    from pipeline.events import Utterance

    asked = write_wav(tmp_path / "asked.wav", np.concatenate([tts(SENTENCE_A), silence(0.5)]))
    answered = write_wav(tmp_path / "answered.wav", np.concatenate([tts(SENTENCE_C), silence(0.5)]))
    record = tmp_path / "two.jsonl"
    listen = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "listen", "--mic", "s2q_mic", "--call", "s2q_call", "--save-audio",
         "--no-partials", "--jsonl", "--record", str(record)],
        env=two_devices, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    out = LineReader(listen)
    try:
        assert out.wait_for(lambda line: '"ready"' in line, timeout=120), listen.stderr.read()
        subprocess.run(["paplay", "-d", "mic", str(asked)], env=two_devices, check=True, timeout=60)
        subprocess.run(["paplay", "-d", "call", str(answered)], env=two_devices, check=True, timeout=60)
        said = lambda: [json.loads(x) for x in list(out.lines) if '"transcript"' in x and '"final": true' in x]  # noqa: E731
        assert out.wait_for(lambda _: {e["speaker"] for e in said()} >= {"interviewer", "candidate"}, timeout=60)
    finally:
        listen.send_signal(signal.SIGINT)
        rc = listen.wait(timeout=60)
        out.join()
    stderr = listen.stderr.read()
    assert rc == 0 and "Traceback" not in stderr, stderr
    by_speaker = {e["speaker"]: e["text"] for e in finals([json.loads(x) for x in out.lines])}
    # Each side holds its own sentence, not the other's (live capture on a loaded machine may cost a word or two).
    assert wer(SENTENCE_A, by_speaker["interviewer"]) <= 0.3 < wer(SENTENCE_C, by_speaker["interviewer"]), by_speaker
    assert wer(SENTENCE_C, by_speaker["candidate"]) <= 0.3 < wer(SENTENCE_A, by_speaker["candidate"]), by_speaker
    for speaker, own, other in (("interviewer", SENTENCE_A, SENTENCE_C), ("candidate", SENTENCE_C, SENTENCE_A)):
        wav = tmp_path / f"two.{speaker}.wav"
        assert wav.exists(), f"no saved audio for the {speaker}"
        assert stat.S_IMODE(wav.stat().st_mode) == 0o600
        audio = read_wav(wav)[0][0].astype(np.float32)
        text = transcriber.transcribe(Utterance(0, speaker, 0.0, len(audio) / 16000, audio)).text
        assert wer(own, text) <= 0.3 < wer(other, text), (speaker, text)


def test_device_vanishing_mid_capture_keeps_what_was_heard(pulse, tmp_path):
    """The sound server dies while someone talks: one error line, and the record keeps what was said."""
    record = tmp_path / "vanish.jsonl"
    listen = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "listen", "--input", "pulse", "--no-partials", "--jsonl",
         "--record", str(record)],
        env=pulse, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    out = LineReader(listen)
    player = None
    try:
        assert out.wait_for(lambda line: '"ready"' in line, timeout=120), listen.stderr.read()
        player = subprocess.Popen(["paplay", "-d", "call", str(DEMO)], env=pulse)
        assert out.wait_for(lambda line: '"final": true' in line, timeout=60), "nothing heard before the failure"
        time.sleep(TURNS[1]["start"] + 1.0 - TURNS[0]["end"])  # into the next turn: speech in progress
        subprocess.run(["pulseaudio", "--kill"], env=pulse, capture_output=True, timeout=30)
        rc = listen.wait(timeout=90)
    finally:
        for proc in (listen, player):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
        out.join()
    stderr = listen.stderr.read()
    assert rc == 1, stderr
    assert "Traceback" not in stderr, stderr
    assert stderr.strip().splitlines()[-1].startswith("s2q: error: input device"), stderr
    kept = [json.loads(line) for line in record.read_text().splitlines()]
    assert [e for e in kept if e["type"] == "status" and e["state"] == "source_failed"]
    spoken = [e for e in kept if e["type"] == "transcript" and e["final"]]
    assert len(spoken) >= 2, spoken  # the first turn, and the one cut by the failure
