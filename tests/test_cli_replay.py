"""`s2q replay` end to end: real files, real model, real signals; mostly as a subprocess."""

from __future__ import annotations

import io
import json
import os
import select
import signal
import stat
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import SENTENCE_A, encode_mp3, normalise_text, silence, wer, write_wav

MAX_WER = 0.17  # at most one wrong word in these 6-8 word sentences
TRANSCRIPT_KEYS = {"type", "utterance_id", "speaker", "start", "end", "text", "final", "latency_ms"}


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def transcripts(events: list[dict]) -> list[dict]:
    return [e for e in events if e.get("type") == "transcript"]


def assert_no_traceback(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr


# -- a clean fast replay ---------------------------------------------------------------


@pytest.fixture(scope="module")
def fast_run(s2q, mono_clip, tmp_path_factory):
    path, speech = mono_clip
    record = tmp_path_factory.mktemp("record") / "session" / "rec.jsonl"
    proc = s2q("replay", path, "--fast", "--jsonl", "--record", record)
    return proc, speech, record


def test_fast_jsonl_transcript_events(fast_run):
    proc, speech, _ = fast_run
    assert proc.returncode == 0, proc.stderr
    assert_no_traceback(proc.stderr)
    events = json_lines(proc.stdout)  # every stdout line is JSON
    found = transcripts(events)
    assert len(found) == 1
    event = found[0]
    assert TRANSCRIPT_KEYS <= set(event)
    assert isinstance(event["utterance_id"], int)
    assert event["speaker"] == "speaker-1"  # one voice, told apart at once; nothing names it
    assert event["final"] is True
    (true_start, true_end) = speech.spans[0]
    assert event["start"] <= true_start <= true_end <= event["end"] + 0.05
    assert abs(event["start"] - true_start) <= 0.35 and abs(event["end"] - true_end) <= 0.35
    assert wer(SENTENCE_A, event["text"]) <= MAX_WER, event["text"]
    latency = event["latency_ms"]
    for key in ("asr", "total"):
        assert isinstance(latency[key], (int, float)) and latency[key] > 0, latency
    assert latency["total"] >= latency["asr"]
    assert latency["end_of_speech"] >= latency["total"] + 500  # + the pause that ended the turn (hangover)


def test_record_permissions_0600(fast_run):
    proc, _, record = fast_run
    assert proc.returncode == 0, proc.stderr
    assert record.exists()
    assert stat.S_IMODE(record.stat().st_mode) == 0o600


def test_record_matches_stdout(fast_run):
    proc, _, record = fast_run
    assert json_lines(record.read_text()) == json_lines(proc.stdout)


def test_stereo_channels_map_to_speakers(s2q, stereo_dialog):
    path, left, right = stereo_dialog
    proc = s2q("replay", path, "--channels", "interviewer,candidate", "--fast", "--jsonl")
    assert proc.returncode == 0, proc.stderr
    assert_no_traceback(proc.stderr)
    found = transcripts(json_lines(proc.stdout))
    by_speaker = {e["speaker"]: e for e in found}
    assert sorted(e["speaker"] for e in found) == ["candidate", "interviewer"], found
    assert wer(left.texts[0], by_speaker["interviewer"]["text"]) <= MAX_WER, by_speaker["interviewer"]["text"]
    assert wer(right.texts[0], by_speaker["candidate"]["text"]) <= MAX_WER, by_speaker["candidate"]["text"]
    assert abs(by_speaker["interviewer"]["start"] - left.spans[0][0]) <= 0.35
    assert abs(by_speaker["candidate"]["start"] - right.spans[0][0]) <= 0.35
    assert by_speaker["interviewer"]["utterance_id"] != by_speaker["candidate"]["utterance_id"]


# -- bad inputs ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory, tts, mono_clip) -> dict[str, tuple[list[str], str]]:
    """name -> (arguments after `replay`, a string the error line must contain)."""
    d = tmp_path_factory.mktemp("bad")
    good, _ = mono_clip
    empty = d / "empty.wav"
    empty.write_bytes(b"")
    text = d / "notes.wav"
    text.write_text("interview notes, not audio\n" * 50)
    long_wav = write_wav(d / "long.wav", np.concatenate([silence(0.3), tts(SENTENCE_A)] * 3))
    cut_wav = d / "cut.wav"
    cut_wav.write_bytes(long_wav.read_bytes()[: long_wav.stat().st_size // 2])
    mp3 = encode_mp3(long_wav, d / "long.mp3")
    cut_mp3 = d / "cut.mp3"
    cut_mp3.write_bytes(mp3.read_bytes()[: mp3.stat().st_size // 2])
    missing = d / "missing.wav"
    return {
        "missing": ([str(missing)], str(missing)),
        "empty": ([str(empty)], str(empty)),
        "not-audio": ([str(text)], str(text)),
        "truncated-wav": ([str(cut_wav)], str(cut_wav)),
        "truncated-mp3": ([str(cut_mp3)], str(cut_mp3)),
        "unknown-model": ([str(good), "--model", "no-such-model"], "no-such-model"),
        "unknown-second-pass-model": ([str(good), "--second-pass-model", "no-such-model"], "no-such-model"),
        "model-folder-missing": ([str(good), "--model", str(d / "nothing-here")], "nothing-here"),
        "channels-on-mono": ([str(good), "--channels", "interviewer,candidate"], str(good)),
        "record-is-a-directory": ([str(good), "--record", str(d)], str(d)),
    }


@pytest.mark.parametrize(
    "case",
    ["missing", "empty", "not-audio", "truncated-wav", "truncated-mp3", "unknown-model",
     "unknown-second-pass-model", "model-folder-missing", "channels-on-mono", "record-is-a-directory"],
)
def test_bad_input_one_line_error(s2q, bad_inputs, case):
    args, expected = bad_inputs[case]
    proc = s2q("replay", *args, "--fast", "--jsonl")
    assert proc.returncode != 0
    assert_no_traceback(proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("s2q:"), lines[0]
    assert expected in lines[0]
    if case != "truncated-mp3":  # found only at its end (decoding streams): what came before is kept
        assert transcripts(json_lines(proc.stdout)) == []


@pytest.mark.parametrize("value", ["speaker", "interviewer,candidate,unknown", "interviewer;candidate", ","])
def test_bad_channels_value_is_a_usage_error(s2q, mono_clip, value):
    path, _ = mono_clip
    proc = s2q("replay", path, f"--channels={value}", "--fast", "--jsonl")
    assert proc.returncode == 2
    assert_no_traceback(proc.stderr)
    assert proc.stderr.startswith("usage: s2q replay")
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("s2q replay: error: argument --channels")
    assert proc.stdout == ""


def test_module_entry_point_same_error(s2q, tmp_path):
    missing = tmp_path / "missing.ogg"
    script = s2q("replay", missing)
    module = s2q("replay", missing, module=True)
    assert script.returncode == module.returncode == 1
    assert script.stderr == module.stderr
    assert script.stderr.startswith("s2q:") and str(missing) in script.stderr


# -- Ctrl-C -------------------------------------------------------------------------------


def test_ctrl_c_stops_cleanly_and_keeps_the_record(s2q_command, cli_env, long_replay_clip, tmp_path):
    """Ctrl-C right after a transcript line shows: clean exit, and the record has that line.

    PYTHONUNBUFFERED (set in cli_env) makes stdout behave as on a terminal, where
    each line shows the moment it is written.
    """
    path, speech = long_replay_clip
    record = tmp_path / "rec.jsonl"
    proc = subprocess.Popen(
        s2q_command + ["replay", str(path), "--jsonl", "--record", str(record)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env, cwd=tmp_path,
    )
    out = b""
    try:
        fd = proc.stdout.fileno()
        deadline = time.monotonic() + 90
        # Interrupt as soon as the first transcript line has been printed (as a user would).
        while b'"transcript"' not in out or not out.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            assert remaining > 0, "no transcript line within 90 s"
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                data = os.read(fd, 65536)
                assert data, f"s2q ended before any transcript: {proc.stderr.read().decode()}"
                out += data
        proc.send_signal(signal.SIGINT)
        rest, stderr_bytes = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stdout = (out + rest).decode()
    stderr = stderr_bytes.decode()

    assert proc.returncode == 0, stderr
    assert_no_traceback(stderr)
    printed_lines = stdout.splitlines(keepends=True)
    assert all(line.endswith("\n") for line in printed_lines), "a line was cut short"
    printed = [json.loads(line) for line in printed_lines]  # each printed line is complete JSON
    printed_transcripts = transcripts(printed)
    # Interrupted early: not every sentence made it out.
    assert 1 <= len(printed_transcripts) < len(speech.texts)
    recorded_lines = record.read_text().splitlines(keepends=True)
    assert all(line.endswith("\n") for line in recorded_lines), "the record has a cut line"
    recorded = [json.loads(line) for line in recorded_lines]
    for event in printed_transcripts:
        assert event in recorded, f"printed but not recorded: {event}"
    assert stat.S_IMODE(record.stat().st_mode) == 0o600


class CtrlCOnTranscript(io.StringIO):
    """A stdout that presses Ctrl-C (a real SIGINT to this process) the moment a transcript line shows."""

    def __init__(self) -> None:
        super().__init__()
        self.pressed = False

    def write(self, text: str) -> int:
        n = super().write(text)
        shown = self.getvalue()
        if not self.pressed and '"transcript"' in shown and shown.endswith("\n"):
            self.pressed = True
            signal.raise_signal(signal.SIGINT)  # KeyboardInterrupt is raised right here
        return n


def test_ctrl_c_just_after_a_line_shows_keeps_it_in_the_record(mono_clip, tmp_path, monkeypatch):
    """The same as above without the race: Ctrl-C lands exactly after stdout shows a line."""
    from pipeline.cli import main

    path, _ = mono_clip
    record = tmp_path / "rec.jsonl"
    screen = CtrlCOnTranscript()
    monkeypatch.setattr(sys, "stdout", screen)
    handler = signal.getsignal(signal.SIGINT)
    try:
        code = main(["replay", str(path), "--fast", "--jsonl", "--no-advice", "--record", str(record)])
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C escaped s2q as a KeyboardInterrupt")
    finally:
        signal.signal(signal.SIGINT, handler)
    assert screen.pressed
    assert code == 0
    shown = transcripts(json_lines(screen.getvalue()))
    assert len(shown) == 1
    recorded = json_lines(record.read_text()) if record.exists() else []
    assert shown[0] in recorded, "a line the user saw before pressing Ctrl-C is missing from the record"


def test_ctrl_c_mid_sentence_keeps_the_speech_in_progress(s2q_command, cli_env, monologue, workdir, tmp_path):
    """Ctrl-C while someone is talking: what was said so far is transcribed and recorded before exit."""
    path = write_wav(workdir / "monologue.wav", monologue.audio)
    record = tmp_path / "rec.jsonl"
    proc = subprocess.Popen(
        s2q_command + ["replay", str(path), "--jsonl", "--no-advice", "--record", str(record)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env, cwd=tmp_path, text=True,
    )
    try:
        while '"ready"' not in proc.stdout.readline():  # session_start, then ready: the paced replay starts now
            assert proc.poll() is None, proc.stderr.read()
        time.sleep(monologue.spans[2][1])  # three sentences in: no pause long enough has ended a turn yet
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr
    assert_no_traceback(stderr)
    recorded = [e for e in transcripts(json_lines(record.read_text())) if e["final"]]
    assert recorded, "the speech in progress at Ctrl-C was lost"
    said = set(normalise_text(" ".join(e["text"] for e in recorded)).split())
    before = normalise_text(" ".join(monologue.texts[:2])).split()
    assert sum(w in said for w in before) >= 0.8 * len(before), said
    assert recorded[-1]["end"] < monologue.spans[-1][0]  # stopped part way, not replayed to the end


def test_sigkill_mid_session_keeps_every_complete_line(s2q_command, cli_env, long_replay_clip, tmp_path):
    """A crash (SIGKILL: nothing can clean up): every complete line of the record loads, the report renders."""
    from pipeline.report import load_session, render_report

    path, speech = long_replay_clip
    record = tmp_path / "killed.jsonl"
    proc = subprocess.Popen(s2q_command + ["replay", str(path), "--jsonl", "--record", str(record)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env, cwd=tmp_path, text=True)
    try:
        for line in proc.stdout:
            if '"final": true' in line:
                break  # killed right after the first final transcript, mid-session
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    raw = record.read_text()
    complete = raw.splitlines()[: raw.count("\n")]
    assert [json.loads(line)["type"] for line in complete][:2] == ["session_start", "status"]
    assert any(json.loads(line).get("final") for line in complete)
    # A crash mid-write would leave half a line: the report skips and notes it, and still renders.
    record.write_text(raw + '{"type": "transcript", "text": "cut sho')
    session = load_session(record)
    assert session.cut_lines == [len(complete) + 1]
    text = render_report(session)
    assert "## Transcript" in text and "incomplete" in text
