"""pipeline.audio.sources: decoding files of any common format, and replaying them as chunks."""

from __future__ import annotations

import struct
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import SENTENCE_A, SENTENCE_B, SR, encode_mp3, run, silence, write_wav

from pipeline.audio import SAMPLE_RATE
from pipeline.audio.sources import AudioChunk, FileSource, decode_file
from pipeline.errors import AudioDecodeError

FORMATS = ["wav", "flac", "mp3", "ogg"]
RATES = [8000, 44100, 48000]


def envelope(x: np.ndarray, frame: int = 480) -> np.ndarray:
    n = len(x) // frame
    return np.sqrt(np.mean(np.square(x[: n * frame]).reshape(n, frame), axis=1))


def envelope_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of 30 ms loudness envelopes: close to 1 when the same sound is at the same time."""
    ea, eb = envelope(a), envelope(b)
    n = min(len(ea), len(eb))
    return float(np.corrcoef(ea[:n], eb[:n])[0, 1])


def test_sample_rate_is_16k():
    assert SAMPLE_RATE == SR == 16000


# -- formats, rates, channels -----------------------------------------------------


@pytest.mark.parametrize("channels", [1, 2], ids=["mono", "stereo"])
@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("ext", FORMATS)
def test_decode_downmix_to_16k_float32(make_format, espeak_source, reference_16k, ext, rate, channels):
    path = make_format(ext, rate, channels)
    _, source_seconds = espeak_source

    audio = decode_file(path)  # n_channels=1: downmix

    assert audio.dtype == np.float32
    assert audio.ndim == 2 and audio.shape[0] == 1
    assert abs(audio.shape[1] / SR - source_seconds) <= 0.050
    assert np.isfinite(audio).all() and np.abs(audio).max() <= 1.0 + 1e-3
    # The same sound at the same time as sox's own 16 kHz conversion.
    assert envelope_similarity(audio[0], reference_16k) > 0.95


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("ext", FORMATS)
def test_stereo_channels_kept_apart(make_format, espeak_source, reference_16k, ext, rate, side):
    _, source_seconds = espeak_source
    audio = decode_file(make_format(ext, rate, 2, side=side), n_channels=2)

    assert audio.dtype == np.float32
    assert audio.shape[0] == 2
    assert abs(audio.shape[1] / SR - source_seconds) <= 0.050
    speech, quiet = (audio[0], audio[1]) if side == "left" else (audio[1], audio[0])
    assert np.sqrt(np.mean(speech**2)) > 0.03
    assert envelope_similarity(speech, reference_16k) > 0.95
    # The other side stays (near) silent: nothing of the speech leaks into it.
    assert np.sqrt(np.mean(quiet**2)) < 1e-3
    assert np.abs(quiet).max() < 5e-3


def test_stereo_downmix_contains_one_sided_speech(make_format):
    mono = decode_file(make_format("wav", 48000, 2, side="right"))
    assert mono.shape[0] == 1
    assert np.sqrt(np.mean(mono**2)) > 0.01


# -- FileSource -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def stereo_file(make_format) -> Path:
    return make_format("flac", 48000, 2, side="left")


def test_filesource_fast_chunks_exact_and_contiguous(stereo_file):
    source = FileSource(stereo_file, speakers=("interviewer", "candidate"), realtime=False, chunk_ms=30)
    decoded = decode_file(stereo_file, n_channels=2)
    chunks = list(source)

    assert all(isinstance(c, AudioChunk) for c in chunks)
    by_speaker: dict[str, list[AudioChunk]] = {"interviewer": [], "candidate": []}
    for c in chunks:
        by_speaker[c.speaker].append(c)
    assert set(by_speaker) == {c.speaker for c in chunks}
    assert len(by_speaker["interviewer"]) == len(by_speaker["candidate"]) > 10

    for channel, speaker in enumerate(("interviewer", "candidate")):
        seq = by_speaker[speaker]
        offset = 0
        for i, c in enumerate(seq):
            assert c.samples.dtype == np.float32 and c.samples.ndim == 1
            assert c.start == offset / SR, f"chunk {i} of {speaker} starts at {c.start}, not {offset / SR}"
            if i:
                assert abs(c.start - seq[i - 1].end) < 1e-9
            if i < len(seq) - 1:
                assert len(c.samples) == SR * 30 // 1000
            offset += len(c.samples)
        # Every sample, in order, nothing more.
        np.testing.assert_array_equal(np.concatenate([c.samples for c in seq]), decoded[channel])
        assert abs(seq[-1].end - source.duration) < 1e-9

    # Left (interviewer) has the speech, right (candidate) is silent.
    left = np.concatenate([c.samples for c in by_speaker["interviewer"]])
    right = np.concatenate([c.samples for c in by_speaker["candidate"]])
    assert np.sqrt(np.mean(left**2)) > 0.03 > 1e-3 > np.sqrt(np.mean(right**2))


def test_filesource_mono_default_speaker(make_format):
    source = FileSource(make_format("ogg", 8000, 1), realtime=False)
    chunks = list(source)
    assert {c.speaker for c in chunks} == {"unknown"}
    assert chunks[0].start == 0.0
    assert abs(chunks[-1].end - source.duration) < 1e-9


def test_filesource_realtime_paces_like_a_microphone(workdir):
    path = write_wav(workdir / "one-second.wav", 0.1 * np.sin(2 * np.pi * 300 * np.arange(SR) / SR))
    source = FileSource(path, realtime=True)
    began = time.monotonic()
    chunks = list(source)
    elapsed = time.monotonic() - began
    assert abs(chunks[-1].end - 1.0) < 1e-6
    # A 1 s file delivered as it "is spoken" cannot arrive much faster than 1 s.
    assert elapsed >= 0.9


# -- errors -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def long_source(workdir, tts) -> Path:
    """A ~6 s wav to cut up."""
    audio = np.concatenate([silence(0.3), tts(SENTENCE_A), silence(0.5), tts(SENTENCE_B), silence(0.5)])
    return write_wav(workdir / "long-source.wav", audio)


def truncate(src: Path, dst: Path) -> Path:
    """Keep the first half of the bytes, header included (which still claims the full length)."""
    data = src.read_bytes()
    dst.write_bytes(data[: len(data) // 2])
    return dst


def assert_decode_error(path: Path, n_channels: int = 1) -> str:
    with pytest.raises(AudioDecodeError) as info:
        decode_file(path, n_channels=n_channels)
    message = str(info.value)
    assert str(path) in message
    assert "\n" not in message
    return message


def test_missing_file(tmp_path):
    message = assert_decode_error(tmp_path / "nope.wav")
    assert "no such file" in message


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    assert "empty" in assert_decode_error(path)


def test_text_file_renamed_wav(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("These are my interview notes, not audio.\n" * 20)
    assert_decode_error(path)


def test_directory(tmp_path):
    assert_decode_error(tmp_path)


def test_truncated_wav(long_source, tmp_path):
    path = truncate(long_source, tmp_path / "cut.wav")
    # The header still claims the full data length...
    header = path.read_bytes()[:44]
    assert header[36:40] == b"data"
    claimed = struct.unpack("<I", header[40:44])[0]
    assert claimed > path.stat().st_size
    # ...so decoding half of it is damage, not a short recording.
    message = assert_decode_error(path)
    assert "truncated" in message or "damaged" in message


@pytest.mark.parametrize("ext", ["ogg", "mp3"])
def test_truncated_compressed(long_source, tmp_path, ext):
    whole = tmp_path / f"whole.{ext}"
    if ext == "mp3":
        encode_mp3(long_source, whole)
    else:
        run(["sox", str(long_source), str(whole)])
    assert decode_file(whole).shape[1] > 5 * SR  # the intact file decodes
    path = truncate(whole, tmp_path / f"cut.{ext}")
    message = assert_decode_error(path)
    assert "truncated" in message or "damaged" in message


def test_filesource_reports_decode_errors(tmp_path):
    with pytest.raises(AudioDecodeError, match="nope.flac"):
        FileSource(tmp_path / "nope.flac", realtime=False)


def test_two_speakers_on_mono_file(make_format):
    path = make_format("wav", 44100, 1)
    message = assert_decode_error(path, n_channels=2)
    assert "stereo" in message or "channel" in message
    with pytest.raises(AudioDecodeError):
        FileSource(path, speakers=("interviewer", "candidate"), realtime=False)
