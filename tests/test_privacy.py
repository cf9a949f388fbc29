"""'Nothing leaves your machine', checked: a cold index build and a replay under strace reach no host.

ONNX Runtime's native telemetry (see pipeline/privacy.py) looks up and
uploads to a Microsoft host from a cold index build. Any AF_INET/AF_INET6
connect or sendto is a failure; AF_UNIX (local sockets) and netlink are fine.
ONNX Runtime keeps quiet when it thinks it runs in CI, so the CI markers are
taken out of the environment: the test must see what a user's machine does.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SENTENCE_A, compose, silence, write_wav

# Environment variables by which ONNX Runtime recognises CI and suppresses telemetry.
CI_MARKERS = ("CI", "TF_BUILD", "GITHUB_ACTIONS", "SYSTEM_TEAMFOUNDATIONCOLLECTIONURI", "BUILD_BUILDID",
              "JENKINS_URL", "GITLAB_CI", "TRAVIS", "CIRCLECI", "BUILDKITE")
NETWORK = re.compile(r"\b(connect|sendto|sendmsg)\(.*sa_family=AF_INET6?\b")


def network_attempts(log: Path) -> list[str]:
    """Lines of an `strace -f` log where a process tried to reach a host over IP."""
    return [line for line in log.read_text(errors="replace").splitlines() if NETWORK.search(line)]


def test_network_attempts_are_recognised(tmp_path):
    log = tmp_path / "trace"
    log.write_text(
        '42  connect(8, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.0.0.53")}, 16) = 0\n'
        '43  connect(3, {sa_family=AF_UNIX, sun_path="/run/x"}, 110) = -1 ENOENT\n'
        '44  sendto(5, "x", 1, 0, {sa_family=AF_INET6, sin6_port=htons(53)}, 28) = 1\n'
        '45  sendto(6, "x", 1, 0, {sa_family=AF_NETLINK, nl_pid=0}, 12) = 1\n'
    )
    assert [line.split()[0] for line in network_attempts(log)] == ["42", "44"]


def _strace_works() -> bool:
    if not shutil.which("strace"):
        pytest.fail("strace is required (tools/install-system-deps.sh installs it)")
    return subprocess.run(["strace", "-f", "-o", "/dev/null", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(sys.platform != "linux", reason="strace is Linux-only")
def test_cold_build_and_replay_reach_no_host(tmp_path, s2q_command, cli_env, workdir, tts):
    if not _strace_works():
        pytest.skip("strace cannot trace here (ptrace not permitted)")
    cache_home = tmp_path / "cache"  # empty: the ONNX export and every index are cold
    env = {k: v for k, v in cli_env.items() if k not in CI_MARKERS}
    env["XDG_CACHE_HOME"] = str(cache_home)
    clip = write_wav(workdir / "privacy-clip.wav", compose([silence(0.5), SENTENCE_A, silence(1.0)], tts).audio)
    runs = {
        "build": ["bank", "build", "--role", "ml-engineer"],
        # another role: its index is cold too, built inside the replay
        "replay": ["replay", str(clip), "--fast", "--jsonl", "--role", "backend-engineer"],
    }
    for name, args in runs.items():
        log = tmp_path / f"{name}.strace"
        proc = subprocess.run(["strace", "-f", "-qq", "-e", "trace=connect,sendto,sendmsg", "-o", str(log),
                               *s2q_command, *args], capture_output=True, text=True, env=env, timeout=600)
        assert proc.returncode == 0, proc.stderr[-2000:]
        attempts = network_attempts(log)
        assert not attempts, f"`s2q {' '.join(args)}` tried to reach the network:\n" + "\n".join(attempts[:10])
    assert (cache_home / "s2q" / "index").is_dir(), "the index was built cold (ONNX Runtime ran the embedder)"
    from pipeline.retrieval.embedder import BUNDLED

    if not (BUNDLED / "model.onnx").exists():  # a checkout without `make onnx` exports the model here too
        assert (cache_home / "s2q" / "onnx").is_dir(), "the export did run cold"
    # ONNX Runtime's telemetry keeps a device id and an upload queue there when it is on.
    assert not (cache_home / "Microsoft").exists(), sorted(p.name for p in (cache_home / "Microsoft").rglob("*"))
