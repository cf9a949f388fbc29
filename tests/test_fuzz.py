"""Property: whatever bytes reach the bank loader or the audio decoder, the result is data or one
clean S2QError, in bounded time. Hypothesis generates YAML documents (including aliases, deep
nesting, odd keys) and audio-like byte blobs (real WAV/Ogg/FLAC headers with damaged bodies).
"""

from __future__ import annotations

import shutil
import struct
import time
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from pipeline.errors import S2QError  # noqa: E402
from pipeline.retrieval.bank import BANK_ROOT, BankError, check_bank  # noqa: E402

# derandomize: CI runs the same examples every time (explore locally with derandomize=False)
SETTINGS = settings(max_examples=50, deadline=10_000, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
SECONDS = 10  # bound on one example

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                    st.text(max_size=20), st.sampled_from(["~", "&a x", "*a", "!!python/object:os.system", "[", "{",
                                                           "? [a, b]", ":", "- -", "\t", "%YAML 9.9"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                      max_leaves=20)
yaml_snippets = st.one_of(
    values.map(repr),
    st.text(max_size=300),
    st.sampled_from(["questions: &q [*q]\n", "a: &a [1]\nb: [*a, *a]\n", "? [a, b]\n: c\n", "[" * 2000,
                     "questions:\n  - id: x\n    text: !!binary aGk=\n", "questions: !!set {a, b}\n",
                     "questions:\n  - {id: A B, text: 3, stage: [], competencies: {}, difficulty: 1}\n"]),
)


@pytest.fixture(scope="module")
def role_copy(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("fuzz") / "ml-engineer"
    shutil.copytree(BANK_ROOT / "ml-engineer", target)
    return target


@SETTINGS
@given(name=st.sampled_from(["role.yaml", "neutral.yaml", "red_flags.yaml", "questions/coding-challenge.yaml"]),
       text=yaml_snippets)
def test_bank_loader_gives_data_or_a_clean_error(role_copy, name, text):
    path = role_copy / name
    original = path.read_bytes()
    path.write_bytes(text.encode("utf-8", "replace"))
    try:
        t0 = time.monotonic()
        try:
            check_bank(role_copy)
        except S2QError:
            pass
        assert time.monotonic() - t0 < SECONDS
    finally:
        path.write_bytes(original)


def _wav_header(channels: int, rate: int, bits: int, data_len: int) -> bytes:
    block = channels * max(bits // 8, 1)
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * block, block, bits)
    riff_len = (36 + data_len) & 0xFFFFFFFF  # a lying header may claim anything; struct needs 32 bits
    return (b"RIFF" + struct.pack("<I", riff_len) + b"WAVEfmt " + struct.pack("<I", 16) + fmt + b"data"
            + struct.pack("<I", data_len))


headers = st.one_of(
    st.builds(_wav_header, st.integers(0, 64), st.integers(0, 400_000), st.sampled_from([0, 8, 16, 24, 32, 7]),
              st.integers(0, 2**32 - 1)),
    st.sampled_from([b"OggS\x00\x02" + b"\x00" * 20, b"fLaC\x00\x00\x00\x22", b"ID3\x03\x00", b"\xff\xfb\x90\x00",
                     b"RIFF\xff\xff\xff\xffWAVE", b""]),
)


@SETTINGS
@given(header=headers, body=st.binary(max_size=4096), speakers=st.sampled_from([1, 2]))
def test_audio_decoder_gives_audio_or_a_clean_error(tmp_path_factory, header, body, speakers):
    from pipeline.audio.sources import FileSource

    path = tmp_path_factory.mktemp("blob") / "x.wav"
    path.write_bytes(header + body)
    t0 = time.monotonic()
    try:
        source = FileSource(path, speakers=["interviewer", "candidate"][:speakers], realtime=False)
        for _ in source:
            pass
    except S2QError:
        pass
    assert time.monotonic() - t0 < SECONDS


def test_bank_error_is_an_s2q_error():
    assert issubclass(BankError, S2QError)
