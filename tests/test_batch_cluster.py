"""`s2q batch --ray`'s actor without Ray: it must load the index the driver packed, never build one,
and leave nothing behind; and the batch on a Ray cluster started apart from s2q (`ray start --head`), joined
through RAY_ADDRESS. (The real `--ray local` run is in tests/test_batch.py, compared with the pool, and in
tests/test_privacy.py, traced, with its temp folder checked empty afterwards.)

The actor runs in a child process, as on a cluster: it limits the BLAS threads of the process it
runs in, which must not leak into the rest of the suite.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import SENTENCE_C, compose, silence, wer, write_wav

ROOT = Path(__file__).resolve().parents[1]
# SENTENCE_C's 7 words through a batch worker: measured 0-1 wrong ("build" for "built", tests/test_batch.py);
# allowed: 2, one word of margin.
WRONG_WORDS_ALLOWED = 2
ACTOR = """
import json, os, pickle, sys
from pathlib import Path
from pipeline.batch.cluster import WorkerActor, pack_banks
from pipeline.batch.jobs import Job
from pipeline.session.config import SessionConfig

config = SessionConfig()
packed = pickle.loads(pickle.dumps(pack_banks(config, [config.role])))  # what ray.put carries: bytes
os.environ["XDG_CACHE_HOME"] = sys.argv[2]  # empty: an actor that looked for an index here would build one
actor = WorkerActor(config, packed, 1)
outcome = actor.process(Job(Path(sys.argv[1]), "answer", config.role, ["candidate"]))
result = {"rebuilt": actor.rebuilt(), "root": str(actor.root), "error": outcome.error, "record": outcome.record,
          "index_files": sum(name.startswith("index/") for name in packed[config.role])}
actor.close()
print(json.dumps(result))
"""


def test_ray_actor_uses_the_drivers_index_and_leaves_nothing(tmp_path, workdir, tts, cli_env):
    clip = write_wav(workdir / "actor-answer.wav", compose([silence(0.4), SENTENCE_C, silence(0.8)], tts).audio)
    empty_cache, temp = tmp_path / "cache", tmp_path / "tmp"
    empty_cache.mkdir()
    temp.mkdir()
    env = dict(cli_env, PYTHONPATH=str(ROOT), TMPDIR=str(temp))
    proc = subprocess.run([sys.executable, "-c", ACTOR, str(clip), str(empty_cache)], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["index_files"] > 0, "the driver packed no index"
    assert result["rebuilt"] is False, "the actor built the bank's index instead of loading the driver's"
    assert not (empty_cache / "s2q" / "index").exists(), sorted(p.name for p in empty_cache.rglob("*"))
    assert result["root"].startswith(str(temp)) and not Path(result["root"]).exists(), "the actor's folder is left"
    assert list(temp.iterdir()) == [], list(temp.iterdir())
    assert result["error"] is None
    said = [json.loads(line) for line in result["record"].splitlines()]
    lines = {e["utterance_id"]: e["text"] for e in said if e["type"] == "transcript" and e["final"]}  # revised in place
    text = " ".join(lines.values())
    assert round(wer(SENTENCE_C, text) * len(SENTENCE_C.split())) <= WRONG_WORDS_ALLOWED, text


# -- a cluster started apart from s2q, joined through RAY_ADDRESS and ray:// ----------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ray_head(tmp_path_factory, cli_env):
    """`ray start --head` as a user would run it, here on loopback only: its own temp folder (short: Ray's
    socket paths must fit in 107 bytes), and its workers' TMPDIR and cache empty, to look in afterwards."""
    import ray  # noqa: F401  (the `test` extra installs it: missing is a failure, not a skip)

    from pipeline.batch.cluster import LOCAL_ONLY

    base = tmp_path_factory.mktemp("ray-head")
    head = {"temp": Path(tempfile.mkdtemp(prefix="s2q-rh-", dir="/tmp")), "tmp": base / "tmp", "cache": base / "cache",
            "gcs": _free_port(), "client": _free_port()}
    head["tmp"].mkdir()
    head["cache"].mkdir()
    token = base / "auth_token"  # Ray's token authentication, with a token of its own (not the user's ~/.ray)
    token.write_text(secrets.token_hex(32))
    head["auth"] = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token)}
    env = dict(cli_env, **LOCAL_ONLY, **head["auth"], RAY_USAGE_STATS_ENABLED="0", PYTHONPATH=str(ROOT),
               TMPDIR=str(head["tmp"]), XDG_CACHE_HOME=str(head["cache"]))
    ports = [f"--port={head['gcs']}", f"--ray-client-server-port={head['client']}", f"--dashboard-port={_free_port()}",
             f"--dashboard-agent-listen-port={_free_port()}"]
    proc = subprocess.Popen([str(Path(sys.executable).parent / "ray"), "start", "--head", "--block",
                             "--node-ip-address=127.0.0.1", "--include-dashboard=false", "--disable-usage-stats",
                             "--num-cpus=2", f"--temp-dir={head['temp']}", *ports],
                            env=env, cwd=base, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=0,
                            start_new_session=True)  # its own process group: stopped by it alone, not `ray stop`
    try:
        said = _read_until(proc, "Ray runtime started", timeout=120)
        assert "Ray runtime started" in said and proc.poll() is None, f"ray start --head failed: {said[-2000:]}"
        yield head
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):  # Ray's processes, then whatever of them is left
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        shutil.rmtree(head["temp"], ignore_errors=True)


def _read_until(proc: subprocess.Popen, marker: str, timeout: float) -> str:
    """What the process printed up to `marker`, its exit, or the timeout (unbuffered: nothing waits in a buffer)."""
    said, deadline = b"", time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while marker.encode() not in said and time.monotonic() < deadline:
            if sel.select(timeout=1.0):
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    break
                said += chunk
    return said.decode(errors="replace")


def _job_logs(head: dict) -> set[str]:
    """The head's per-job worker logs: a driver that joined this cluster adds some; one that started its own
    cluster (or ran without Ray) adds none."""
    return {p.name for p in (head["temp"] / "session_latest" / "logs").glob("worker-*")}


@pytest.mark.parametrize("how", ["RAY_ADDRESS", "ray://"])
def test_batch_on_a_running_cluster_joins_it_and_leaves_nothing(ray_head, how, tmp_path, workdir, tts, cli_env):
    """`--ray` alone reads RAY_ADDRESS; `--ray ray://HOST:PORT` goes through Ray Client (README's remote cluster)."""
    clip = write_wav(workdir / "cluster-answer.wav", compose([silence(0.4), SENTENCE_C, silence(0.8)], tts).audio)
    out = tmp_path / "out"
    driver_tmp = Path(tempfile.mkdtemp(prefix="s2q-drv-", dir="/tmp"))  # short: a cluster started here would fit
    try:
        _join_and_check(ray_head, how, clip, out, driver_tmp, cli_env, tmp_path)
    finally:
        shutil.rmtree(driver_tmp, ignore_errors=True)


def _join_and_check(ray_head: dict, how: str, clip: Path, out: Path, driver_tmp: Path, cli_env: dict,
                    cwd: Path) -> None:
    # Ray on Linux swaps a loopback address for the host's outward one (found by connecting to 8.8.8.8), where this
    # head does not listen; RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 keeps 127.0.0.1 (as on macOS and Windows).
    env = dict(cli_env, **ray_head["auth"], PYTHONPATH=str(ROOT), TMPDIR=str(driver_tmp),
               RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0")
    if how == "RAY_ADDRESS":
        env["RAY_ADDRESS"], address = f"127.0.0.1:{ray_head['gcs']}", []
    else:
        address = [f"ray://127.0.0.1:{ray_head['client']}"]
    before = _job_logs(ray_head)
    proc = subprocess.run([sys.executable, "-m", "pipeline", "batch", str(clip), "--out", str(out), "--workers", "1",
                           "--ray", *address], capture_output=True, text=True, env=env, cwd=cwd, timeout=180)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert _job_logs(ray_head) - before, "the batch did not run on the cluster it was pointed at"
    said = [json.loads(line) for line in (out / "cluster-answer.jsonl").read_text().splitlines()]
    lines = {e["utterance_id"]: e["text"] for e in said if e["type"] == "transcript" and e["final"]}
    assert round(wer(SENTENCE_C, " ".join(lines.values())) * len(SENTENCE_C.split())) <= WRONG_WORDS_ALLOWED, lines
    assert list(ray_head["tmp"].glob("s2q-actor-*")) == [], "an actor left its unpacked bank and index"
    assert not (ray_head["cache"] / "s2q" / "index").exists(), "an actor built the index in its own cache"
    assert list(driver_tmp.iterdir()) == [], "the driver started a cluster of its own or left files"
