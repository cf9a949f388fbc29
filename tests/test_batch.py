"""`s2q batch` (pool and Ray), `s2q summary` and `s2q bank mine` end to end, on real speech.

Two short espeak interviews and one broken file go through the real CLI (Whisper tiny.en, the
bundled bank); the outputs are shared by the tests below, so the models load only a few times.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SENTENCE_A, SENTENCE_C, compose, silence, wer, write_wav

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = "Eve <script>alert(1)</script>"


def s2q(*args, timeout: float = 240) -> subprocess.CompletedProcess:
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    return subprocess.run([sys.executable, "-m", "pipeline", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=timeout)


def transcripts(record: Path) -> list[str]:
    """Each utterance's settled text: its final, or the last revision of it (an archive's second pass)."""
    lines = [json.loads(line) for line in record.read_text().splitlines() if line.strip()]
    settled = {e["utterance_id"]: e["text"] for e in lines if e["type"] == "transcript" and e["final"]}
    return list(settled.values())


@pytest.fixture(scope="module")
def archive(tmp_path_factory, tts) -> Path:
    """Two interviews, one truncated WAV, and a manifest naming their interviewers."""
    folder = tmp_path_factory.mktemp("archive")
    write_wav(folder / "first.wav", compose([silence(0.4), SENTENCE_A, silence(1.0), SENTENCE_C, silence(0.8)],
                                            tts).audio)
    write_wav(folder / "second.wav", compose([silence(0.4), SENTENCE_C, silence(0.8)], tts).audio)
    (folder / "broken.wav").write_bytes((folder / "first.wav").read_bytes()[:30])  # the header, cut short
    (folder / "manifest.csv").write_text("file,interviewer,candidate_id\n"
                                         f"first.wav,Alice,c-1\nsecond.wav,\"{HOSTILE}\",c-2\nbroken.wav,Alice,c-3\n")
    return folder


@pytest.fixture(scope="module")
def pool_run(archive, tmp_path_factory):
    out = tmp_path_factory.mktemp("batch-out")
    return out, s2q("batch", "--manifest", archive / "manifest.csv", "--out", out, "--workers", "2")


def test_batch_writes_records_and_reports_and_one_error(pool_run):
    out, proc = pool_run
    assert proc.returncode == 1, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["batch.json", "first.jsonl", "first.md",
                                                    "second.jsonl", "second.md"]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("s2q: error:")]
    assert len(errors) == 1 and "broken.wav" in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert "2 done, 0 skipped, 1 failed" in proc.stderr
    # Each interview's words, not one of them. Measured: 0 of 14 words wrong, 1 of 7 ("build" for
    # "built"); allowed: 2 per file, one word of margin.
    for name, said in (("first", f"{SENTENCE_A} {SENTENCE_C}"), ("second", SENTENCE_C)):
        heard = " ".join(transcripts(out / f"{name}.jsonl"))
        assert round(wer(said, heard) * len(said.split())) <= 2, (name, heard)
    assert (out / "first.md").read_text().startswith("# Interview report")
    start = json.loads((out / "second.jsonl").read_text().splitlines()[0])
    assert start["type"] == "session_start" and start["interviewer"] == HOSTILE and start["candidate_id"] == "c-2"
    index = json.loads((out / "batch.json").read_text())["files"]
    assert index["broken"]["status"] == "failed" and index["first"]["status"] == "done"
    assert oct((out / "first.jsonl").stat().st_mode & 0o777) == "0o600"


def test_rerun_skips_what_is_done(pool_run, archive):
    out, _ = pool_run
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.jsonl")}
    proc = s2q("batch", "--manifest", archive / "manifest.csv", "--out", out, "--workers", "1")
    assert proc.returncode == 1  # the broken file is tried again, and fails again
    assert "2 of 3 files already done" in proc.stderr
    assert "0 done, 2 skipped, 1 failed" in proc.stderr
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.jsonl")} == before


def test_ray_local_gives_the_same_records(pool_run, archive, tmp_path):
    pytest.importorskip("ray")
    out, _ = pool_run
    proc = s2q("batch", "--manifest", archive / "manifest.csv", "--out", tmp_path, "--workers", "2",
               "--ray", "local")
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for name in ("first", "second"):
        assert transcripts(tmp_path / f"{name}.jsonl") == transcripts(out / f"{name}.jsonl")
        assert (tmp_path / f"{name}.md").exists()


def test_ray_missing_is_one_line(archive, tmp_path, monkeypatch, capsys):
    from pipeline.cli import main

    monkeypatch.setitem(sys.modules, "ray", None)
    assert main(["batch", str(archive / "first.wav"), "--out", str(tmp_path), "--ray", "local"]) == 1
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "needs Ray" in err and "cluster" in err


@pytest.mark.parametrize("rows, message", [
    ("first.wav,left,right\n", "more fields than columns"),
    ("first.wav,\"left,right\"\n", "channels must be"),
    ("missing.wav,\n", "no such file"),
])
def test_bad_manifest_is_one_line(archive, tmp_path, rows, message):
    (archive / "m.csv").write_text("file,channels\n" + rows)
    proc = s2q("batch", "--manifest", archive / "m.csv", "--out", tmp_path / "o", timeout=60)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and message in proc.stderr, proc.stderr


def test_summary_sections(pool_run, tmp_path):
    out, _ = pool_run
    proc = s2q("summary", out, "-o", tmp_path / "summary.md", timeout=60)
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "summary.md").read_text()
    for heading in ("# Team summary: 2 interviews", "## Compliance incidents per interviewer",
                    "## Coverage by stage per interviewer", "## Coverage by competency per interviewer",
                    "## Red flags", "## Questions never or rarely asked", "## Talk-time balance"):
        assert heading in text
    assert "| Alice |" in text and "<script>" not in text
    proc = s2q("summary", out, "-o", tmp_path / "summary.html", timeout=60)
    html = (tmp_path / "summary.html").read_text()
    assert proc.returncode == 0 and "<h2>Red flags</h2>" in html and "<script>" not in html
    assert "&lt;script&gt;" in html


def test_bank_mine_lists_a_near_miss(pool_run):
    out, _ = pool_run
    proc = s2q("bank", "mine", out, "--top", "3", timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "for authors to review" in proc.stdout
    said = [t for name in ("first", "second") for t in transcripts(out / f"{name}.jsonl")]
    suggested = [line for line in proc.stdout.splitlines() if line.startswith("  0.")]
    assert suggested and any(any(s in line for s in said) for line in suggested), proc.stdout
    # --entry narrows to one entry; an unknown entry is one line
    entry = next(line.split(" (threshold")[0].split()[-1] for line in proc.stdout.splitlines() if "(threshold" in line)
    narrowed = s2q("bank", "mine", out, "--entry", entry, timeout=120)
    assert narrowed.returncode == 0 and narrowed.stdout.count("(threshold") == 1
    missing = s2q("bank", "mine", out, "--entry", "no-such-entry", timeout=120)
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1


def test_bank_mine_offers_a_dismissed_red_flag_as_a_hard_negative(pool_run, tmp_path):
    """A red flag the interviewer dismissed in the panel comes back to authors as a negative example."""
    from pipeline.events import InterviewerActionEvent, RedFlagEvent

    out, _ = pool_run
    folder = tmp_path / "records"
    folder.mkdir()
    record = (out / "first.jsonl").read_text()
    quote = "Our secrets live in a secrets manager and rotate every month."
    flag = RedFlagEvent(id="ignores-data-bias", name="n", speaker="candidate", score=0.9, quote=quote,
                        start=12.5, end=15.0, probes=[], latency_ms={}, key="red_flag:ignores-data-bias:12.500")
    kept = RedFlagEvent(id="no-monitoring", name="n", speaker="candidate", score=0.9, quote="Kept, not dismissed.",
                        start=20.0, end=22.0, probes=[], latency_ms={}, key="red_flag:no-monitoring:20.000")
    click = InterviewerActionEvent(action="dismiss_alert", target=flag.key, at=16.0)
    lines = [json.dumps(e.to_dict()) for e in (flag, kept, click)]
    (folder / "first.jsonl").write_text(record + "\n".join(lines) + "\n")
    proc = s2q("bank", "mine", folder, "--top", "3", timeout=120)
    assert proc.returncode == 0, proc.stderr
    dismissed = [line for line in proc.stdout.splitlines() if line.startswith("  red flag ")]
    assert dismissed == [f"  red flag ignores-data-bias: {quote}    [first.jsonl at 00:12]"], proc.stdout
