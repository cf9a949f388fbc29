"""The tool as interviewers install it: a wheel in a fresh venv (no torch), and `make demo`'s path as non-root.

The wheel is built once per session and its dependencies are collected into a
wheelhouse from the local pip cache, so both installs run offline and quickly
(`--no-index`). Each install takes well under a minute here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest
import readme_commands
from conftest import SENTENCE_A, SENTENCE_C, normalise_text, wer

ROOT = Path(__file__).resolve().parents[1]
ONNX = ROOT / "pipeline" / "assets" / "minilm" / "model.onnx"
VOICE_ONNX = ROOT / "pipeline" / "assets" / "voices" / "ge2e.onnx"
TURN_END_ONNX = ROOT / "pipeline" / "assets" / "turn_end" / "smart-turn-v3.2-cpu.onnx"  # `make onnx` takes it from a wheel
NOBODY = "nobody"


def _sh(cmd: list[str], timeout: float = 300, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, **kw)
    assert proc.returncode == 0, f"{cmd[:3]} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def shared_dir():
    """World-readable (pytest's own tmp is 0700), so the non-root user can read the wheelhouse."""
    path = Path(tempfile.mkdtemp(prefix="s2q-install-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def wheelhouse(shared_dir) -> tuple[Path, Path]:
    """(the s2q wheel, a folder with it and every run-time dependency as wheels, plus setuptools)."""
    assert ONNX.exists() and VOICE_ONNX.exists(), "the bundled embedder or voice graph is missing: run `make onnx`"
    house = shared_dir / "wheels"
    shutil.rmtree(ROOT / "build" / "lib", ignore_errors=True)  # setuptools would ship modules since moved away
    _sh([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", house, ROOT])
    wheel = next(house.glob("speech_to_question-*.whl"))
    _sh([sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", house, wheel, "setuptools>=68", "wheel"])
    for path in [house, *house.iterdir()]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return wheel, house


def test_the_wheel_holds_the_product_not_the_research_harnesses(wheelhouse):
    """Research harnesses live in the repository's `benchmarks` package; `s2q bench` stays in the wheel."""
    names = set(zipfile.ZipFile(wheelhouse[0]).namelist())
    assert "pipeline/bench/run.py" in names and "pipeline/cli.py" in names
    assert not [n for n in names if n.startswith("benchmarks/")]
    moved = ["bench/understand", "bench/matcher_eval", "bench/spoken", "bench/voiced_set", "bench/tts",
             "bench/tune_embedder", "bench/decision_methods", "retrieval/finetune"]
    assert not [m for m in moved if f"pipeline/{m}.py" in names]


def _offline_pip_env(house: Path, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(PIP_NO_INDEX="1", PIP_FIND_LINKS=str(house), PIP_DISABLE_PIP_VERSION_CHECK="1", HOME=str(home),
               XDG_CACHE_HOME=str(home / ".cache"), XDG_DATA_HOME=str(home / ".local/share"))
    return env


def _finals(stdout: str) -> list[dict]:
    events = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    return [e for e in events if e.get("type") == "transcript" and e.get("final")]


def _python() -> str:
    return getattr(sys, "_base_executable", None) or shutil.which("python3")


@pytest.fixture(scope="module")
def wheel_venv(wheelhouse, shared_dir) -> tuple[Path, Path, dict[str, str]]:
    """(venv, home, env): the wheel installed in a fresh venv, offline, as `pipx install` would."""
    wheel, house = wheelhouse
    venv, home = shared_dir / "wheel-venv", shared_dir / "wheel-home"
    home.mkdir()
    env = _offline_pip_env(house, home)
    _sh([_python(), "-m", "venv", venv], env=env)
    _sh([venv / "bin/pip", "install", "--quiet", wheel], env=env, timeout=240)
    return venv, home, env


def test_wheel_in_a_fresh_venv_has_no_torch_and_replays(wheel_venv, mono_clip):
    venv, home, env = wheel_venv
    for module in ("torch", "transformers", "sentence_transformers", "sklearn", "onnx", "resemblyzer", "jiwer"):
        proc = subprocess.run([venv / "bin/python", "-c", f"import {module}"], capture_output=True, env=env)
        assert proc.returncode != 0, f"{module} must not be installed at run time"

    doctor = _sh([venv / "bin/s2q", "doctor"], env=env, cwd=home)
    assert "ok    Whisper tiny.en" in doctor.stdout and "ok    embedder" in doctor.stdout, doctor.stdout
    assert "ok    voices (GE2E, ONNX): on" in doctor.stdout, doctor.stdout
    assert "ok    question bank: " in doctor.stdout and str(venv) in doctor.stdout, doctor.stdout

    clip = shutil.copy(mono_clip[0], home / "clip.wav")
    replay = _sh([venv / "bin/s2q", "replay", clip, "--fast", "--jsonl"], env=env, cwd=home, timeout=240)
    text = " ".join(e["text"] for e in _finals(replay.stdout))
    assert normalise_text(SENTENCE_A) in normalise_text(text), (text, replay.stderr[-2000:])
    assert not list((home / ".cache").glob("s2q/onnx/*")), "the bundled embedder needs no export"


def test_every_readme_command_in_the_wheel_install(wheel_venv, mono_clip, stereo_dialog):
    """Each command the README shows, on short clips, in the wheel's venv: documented exit codes,
    no traceback, one `s2q: error:` line where a command fails or needs an extra (readme_commands.py)."""
    venv, home, env = wheel_venv
    work = home / "readme"
    work.mkdir()
    shutil.copy(stereo_dialog[0], work / "stereo.wav")
    shutil.copy(mono_clip[0], work / "mono.wav")
    problems = readme_commands.run_table(venv / "bin/s2q", work, env)
    problems += readme_commands.serve_starts_and_stops(venv / "bin/s2q", work, env)
    assert not problems, "\n\n".join(problems)


def _as_user(user: str) -> list[str]:
    if os.geteuid() != 0:
        return []  # already not root: run as ourselves
    return ["runuser", "-u", user, "--"]


def test_make_demo_path_as_non_root_without_sudo(wheelhouse, shared_dir, stereo_dialog):
    """`make demo-check` (install + the demo's replay, no live view) in a fresh copy owned by `nobody`."""
    _, house = wheelhouse
    copy, home, fake = shared_dir / "checkout", shared_dir / "nobody-home", shared_dir / "fake-bin"
    tracked = _sh(["git", "ls-files", "-z"], cwd=ROOT).stdout.split("\0")
    for name in filter(None, tracked):
        if (ROOT / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
    for built in (ONNX, VOICE_ONNX, TURN_END_ONNX):
        shutil.copytree(built.parent, copy / built.relative_to(ROOT).parent)
        (copy / built.relative_to(ROOT)).touch()  # newer than its exporter: make does not rebuild it
    clip = shutil.copy(stereo_dialog[0], copy / "clip.wav")
    fake.mkdir()
    for tool in ("sudo", "apt-get"):  # any call is recorded and fails
        (fake / tool).write_text(f"#!/bin/sh\necho {tool} \"$@\" >> {home}/called\nexit 1\n")
        (fake / tool).chmod(0o755)
    home.mkdir()
    if os.geteuid() == 0:
        _sh(["chown", "-R", NOBODY, copy, home])
    env = _offline_pip_env(house, home)
    env["PATH"] = f"{fake}:{env.get('PATH', '/usr/bin:/bin')}"
    proc = _sh(_as_user(NOBODY) + ["make", "--no-print-directory", "demo-check", f"DEMO_CLIP={clip}"],
               env=env, cwd=copy, timeout=400)
    assert not (home / "called").exists(), (home / "called").read_text()
    finals = _finals(proc.stdout)
    assert {e["speaker"] for e in finals} == {"interviewer", "candidate"}, proc.stdout[-2000:]
    # The interviewer's sentence, heard (espeak's "built" is heard as "build" by some builds of the stack).
    said = " ".join(e["text"] for e in finals if e["speaker"] == "interviewer")
    assert wer(SENTENCE_C, said) <= 0.15, said
    venv_torch = subprocess.run([copy / ".venv/bin/python", "-c", "import torch"], capture_output=True)
    assert venv_torch.returncode != 0, "make install must not install torch"
