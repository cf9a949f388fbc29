"""Hostile or broken input (issue 13): every fault is one readable line and a non-zero exit.

YAML bombs and oddities, paths that climb out of the bank, unreadable or
unseekable audio, channel maps that don't fit, damaged caches. Real files,
the real CLI where the user would meet the error.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from pipeline.retrieval.bank import BANK_ROOT
from pipeline.retrieval.embedder import BUNDLED
from pipeline.retrieval.yamlload import MAX_DEPTH, MAX_FILE_BYTES

ROLE = "ml-engineer"


# The MiniLM ONNX file ships in the package (`make onnx`); only without it is it exported into the cache.
SHIPPED_ONNX = (BUNDLED / "model.onnx").exists()

def run_s2q(*args, timeout: float = 60, memory_bytes: int = 2 << 30, **kw) -> subprocess.CompletedProcess:
    """The CLI in a subprocess with a memory cap, so a runaway input fails the test instead of the machine."""
    script = Path(sys.executable).with_name("s2q")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "pipeline"]

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))

    return subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True, timeout=timeout,
                          preexec_fn=limit, **kw)


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> str:
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "Traceback" not in out, out[-3000:]
    for needle in needles:
        assert needle in proc.stderr, proc.stderr[-3000:]
    return proc.stderr


@pytest.fixture
def bank_copy(tmp_path) -> Path:
    target = tmp_path / ROLE
    shutil.copytree(BANK_ROOT / ROLE, target)
    return target


# -- 7: YAML ---------------------------------------------------------------------------------------

BILLION_LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(12)
)

HOSTILE_YAML = {
    "billion-laughs": ("neutral.yaml", BILLION_LAUGHS, 1, "aliases"),
    "self-alias": ("questions/coding-challenge.yaml", "questions: &q [*q]\n", 1, "aliases"),
    "deep-nesting": ("neutral.yaml", "interviewer: " + "[" * 50_000 + "]" * 50_000 + "\n", 1, "nest"),
    "deep-block-nesting": ("neutral.yaml", "".join("  " * i + f"k{i}:\n" for i in range(100)), MAX_DEPTH + 1, "nested deeper"),
    "list-key": ("neutral.yaml", "interviewer: []\n? [a, b]\n: c\n", 2, "mapping key"),
    "huge-file": ("neutral.yaml", "interviewer:\n" + "  - Can you hear me okay?\n" * (5 * MAX_FILE_BYTES // 26),
                  1, "larger than"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_YAML))
def test_hostile_yaml_is_one_line_at_its_place(bank_copy, case):
    name, text, line, needle = HOSTILE_YAML[case]
    (bank_copy / name).write_text(text, encoding="utf-8")
    t0 = time.monotonic()
    proc = run_s2q("bank", "validate", "--bank", bank_copy, timeout=60)
    assert time.monotonic() - t0 < 30
    assert_one_line_error(proc, f"{bank_copy / name}:{line}:", needle)


def test_depth_limit_leaves_room_for_real_banks(bank_copy):
    nested = "interviewer: " + "[" * (MAX_DEPTH - 2) + "hello" + "]" * (MAX_DEPTH - 2) + "\n"
    (bank_copy / "neutral.yaml").write_text(nested, encoding="utf-8")
    proc = run_s2q("bank", "validate", "--bank", bank_copy)
    assert "nested deeper" not in proc.stderr and "Traceback" not in proc.stderr


def test_yaml_fifo_is_refused_without_blocking(bank_copy):
    import os

    (bank_copy / "neutral.yaml").unlink()
    os.mkfifo(bank_copy / "neutral.yaml")
    proc = run_s2q("bank", "validate", "--bank", bank_copy, timeout=30)
    assert_one_line_error(proc, f"{bank_copy / 'neutral.yaml'}:1:", "not a regular file")


# -- 8: paths --------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["../other", "/tmp", "ml-engineer/../../other", ".", "..", "ml-engineer/"])
@pytest.mark.parametrize("command", [("bank", "validate"), ("bank", "stats"),
                                     ("match", "hello", "--speaker", "interviewer")])
def test_role_cannot_name_a_folder_outside_the_bank(tmp_path, bank_copy, role, command):
    outside = tmp_path / "other"
    shutil.copytree(bank_copy, outside)  # a valid bank, one level above the root: it must not be loaded
    proc = run_s2q(*command, "--bank", bank_copy.parent, "--role", role, timeout=120)
    assert_one_line_error(proc, "--role", "ids use lowercase letters")


def test_load_bank_refuses_a_role_outside_the_root(bank_copy):
    from pipeline.errors import S2QError
    from pipeline.retrieval.bank import load_bank, role_dir

    assert role_dir(ROLE, bank_copy.parent) == bank_copy
    for role in ("../x", "/etc", "a/b", ""):
        with pytest.raises(S2QError):
            load_bank(role, bank_copy.parent)


def test_new_question_cannot_write_outside_the_bank(bank_copy, tmp_path):
    role_yaml = bank_copy / "role.yaml"
    text = role_yaml.read_text(encoding="utf-8")
    role_yaml.write_text(text.replace("  - id: system-design\n", "  - id: ../../../../escaped\n", 1), encoding="utf-8")
    target = Path(os.path.normpath(bank_copy / "questions" / "../../../../escaped.yaml"))
    assert not target.exists()
    try:
        proc = run_s2q("bank", "new", "question", "--bank", bank_copy, "--stage", "../../../../escaped")
        assert_one_line_error(proc, "--stage", "ids use lowercase letters")
        assert not target.exists()
    finally:
        target.unlink(missing_ok=True)


# -- 12 and 10: concurrent cold builds, damaged and unwritable caches -------------------------------


def _build_env(cache_home: Path) -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "XDG_CACHE_HOME": str(cache_home)}


def test_concurrent_cold_builds_then_a_damaged_cache_is_rebuilt(tmp_path):
    cache_home = tmp_path / "cache"
    script = Path(sys.executable).with_name("s2q")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "pipeline"]
    procs = [subprocess.Popen(cmd + ["bank", "build", "--role", ROLE], env=_build_env(cache_home),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0 and "Traceback" not in err, err[-3000:]
    s2q_dir = cache_home / "s2q"
    leftovers = [p.name for p in s2q_dir.rglob("*.tmp")]
    assert not leftovers, leftovers

    # every cache file cut in half: the next build notices and rebuilds
    damaged = [p for p in s2q_dir.rglob("*") if p.is_file()]
    exported = set() if SHIPPED_ONNX else {".onnx"}  # a checkout without `make onnx` exports into the cache
    assert {p.suffix for p in damaged} >= {".npz", ".npy", ".json"} | exported
    for p in damaged:
        p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    proc = run_s2q("bank", "build", "--role", ROLE, env=_build_env(cache_home), timeout=600, memory_bytes=16 << 30)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert "index built" in proc.stdout
    proc = run_s2q("bank", "build", "--role", ROLE, env=_build_env(cache_home), timeout=600, memory_bytes=16 << 30)
    assert "up to date" in proc.stdout, proc.stdout + proc.stderr


def test_unwritable_cache_builds_in_memory_with_a_note(tmp_path):
    cache_home = tmp_path / "not-a-folder"
    cache_home.write_text("a file where the cache folder would go: nothing can be written under it\n")
    scratch_before = set(Path(tempfile.gettempdir()).glob("s2q-onnx-*"))
    proc = run_s2q("bank", "build", "--role", ROLE, env=_build_env(cache_home), timeout=600, memory_bytes=16 << 30)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert "index built" in proc.stdout
    notes = [line for line in proc.stderr.splitlines() if line.startswith("s2q: note: cannot write")]
    # one line each: the index, and (only where the package does not ship the model) the ONNX export
    assert len(notes) == (1 if SHIPPED_ONNX else 2), proc.stderr
    assert set(Path(tempfile.gettempdir()).glob("s2q-onnx-*")) == scratch_before, "the temp export is removed"


# -- 10, 11, 13: audio -------------------------------------------------------------------------------


def _replay(path, *extra, **kw) -> subprocess.CompletedProcess:
    return run_s2q("replay", path, "--fast", "--no-advice", "--jsonl", *extra, memory_bytes=16 << 30, **kw)


@pytest.mark.parametrize("special", ["/dev/zero", "fifo", "/dev/stdin"])
def test_device_pipe_or_stdin_as_audio_is_refused_by_name(tmp_path, special):
    path = Path(special)
    if special == "fifo":
        path = tmp_path / "audio.wav"
        os.mkfifo(path)
    proc = _replay(path, stdin=subprocess.PIPE, timeout=60)
    message = assert_one_line_error(proc, str(path), "not a regular file")
    assert "empty" not in message


def test_channel_map_must_fit_the_file(tmp_path):
    import numpy as np
    from conftest import write_wav

    from pipeline.audio.sources import FileSource
    from pipeline.errors import AudioDecodeError

    eight = write_wav(tmp_path / "eight.wav", 0.4 * np.ones((8, 16000), np.float32))
    with pytest.raises(AudioDecodeError, match="8 channel"):
        FileSource(eight, speakers=("interviewer", "candidate"), realtime=False)
    proc = _replay(eight, "--channels", "interviewer,candidate", timeout=120)
    assert_one_line_error(proc, str(eight), "8 channel(s)")
    # one name mixes every channel into one speaker, without clipping past full scale
    mixed = np.concatenate([c.samples for c in FileSource(eight, speakers=("unknown",), realtime=False)])
    assert np.abs(mixed).max() <= 1.0


def test_unreadable_audio_file_is_one_line(tmp_path, monkeypatch):
    import numpy as np
    from conftest import write_wav

    from pipeline.audio import decode
    from pipeline.audio.sources import FileSource
    from pipeline.errors import AudioDecodeError

    path = write_wav(tmp_path / "secret.wav", np.zeros(16000, np.float32))
    path.chmod(0)
    if os.geteuid() != 0:
        assert_one_line_error(_replay(path, timeout=120), str(path), "cannot read")
    else:  # root reads anything: make the permission check see what an ordinary user would
        monkeypatch.setattr(decode.os, "access", lambda p, mode: False)
    with pytest.raises(AudioDecodeError, match="cannot read"):
        FileSource(path, realtime=False)


def _peak_rss_mb(path: Path, env: dict) -> float:
    """Peak RSS (MB) of a child running `s2q replay --fast --no-advice --jsonl` on the file."""
    code = ("import resource, subprocess, sys; "
            "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True); "
            "assert p.returncode == 0, p.stderr[-2000:]; "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)")
    out = subprocess.run([sys.executable, "-c", code, sys.executable, "-m", "pipeline", "replay", str(path),
                          "--fast", "--no-advice", "--jsonl"], capture_output=True, text=True, timeout=900, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    return float(out.stdout.strip())


def test_long_replay_memory_stays_flat(tmp_path):
    """30 minutes of quiet noise (no speech: the pipeline stays fast) vs 1 minute: same peak memory."""
    if not shutil.which("sox"):
        pytest.fail("sox is required (tools/install-system-deps.sh installs it)")
    files = {}
    for name, seconds in (("short", 60), ("long", 1800)):
        files[name] = tmp_path / f"{name}.flac"
        subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", "-b", "16", str(files[name]), "synth", str(seconds),
                        "pinknoise", "vol", "0.002"], check=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    short, long = _peak_rss_mb(files["short"], env), _peak_rss_mb(files["long"], env)
    print(f"peak RSS: 1 min {short:.0f} MB, 30 min {long:.0f} MB")
    assert long - short < 50, (short, long)


def test_schema_to_a_missing_folder_is_one_line(tmp_path):
    target = tmp_path / "missing" / "x.json"
    proc = run_s2q("bank", "schema", "-o", target)
    assert_one_line_error(proc, "cannot write", str(target))
