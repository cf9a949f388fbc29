"""Session records and their report under faults and hostile input (issue 13: 1, 3, 4, 5, 9, 10).

Records are hand-written JSONL (no models) except the disk-full replay, which runs
the real CLI on a short espeak clip.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from dataclasses import fields
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline import events as event_types
from pipeline.cli import main
from pipeline.errors import S2QError
from pipeline.events import SessionStartEvent, StatusEvent
from pipeline.report import load_session, render_report
from pipeline.report import record as record_module
from pipeline.sinks import JsonlSink
from tests.test_report import INTERVIEW, said, section, write

START_A = {"type": "session_start", "id": "aaaa1111", "version": "0.1.0", "started_at": "2025-03-01T10:00:00+01:00",
           "role": "ml-engineer", "source": "call-a.wav"}
START_B = dict(START_A, id="bbbb2222", started_at="2025-03-01T11:30:00+01:00", source="call-b.wav")
SESSION_A = [START_A, said(0, "interviewer", 0.0, 10.0, "First call question."),
             said(1, "candidate", 10.0, 30.0, "First call answer.")]
SESSION_B = [START_B, said(0, "interviewer", 0.0, 5.0, "Second call question."),
             said(1, "candidate", 5.0, 12.0, "Second call answer.")]


def report_cli(*args, capsys) -> tuple[int, str, str]:
    code = main(["report", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("s2q: error: "), err
    assert "Traceback" not in err
    return lines[0]


# -- 1. never overwrite a record ------------------------------------------------------------


@pytest.mark.parametrize("how", ["same", "relative", "symlink"])
def test_report_refuses_to_overwrite_its_own_record(tmp_path, capsys, monkeypatch, how):
    record = write(tmp_path / "s.jsonl", INTERVIEW)
    before = record.read_bytes()
    output = {"same": record, "relative": Path("sub/../s.jsonl"), "symlink": tmp_path / "link.md"}[how]
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.md").symlink_to(record)
    monkeypatch.chdir(tmp_path)
    code, _, err = report_cli(record, "-o", output, capsys=capsys)
    assert code != 0
    assert "is the session record being reported" in one_error_line(err)
    assert record.read_bytes() == before


def test_report_refuses_to_overwrite_another_record(tmp_path, capsys):
    record, other = write(tmp_path / "s.jsonl", INTERVIEW), write(tmp_path / "other.jsonl", SESSION_A)
    before = other.read_bytes()
    code, _, err = report_cli(record, "-o", other, capsys=capsys)
    assert code != 0 and "is a session record" in one_error_line(err)
    assert other.read_bytes() == before


def test_report_replaces_an_older_report(tmp_path, capsys):
    record, output = write(tmp_path / "s.jsonl", INTERVIEW), tmp_path / "report.md"
    output.write_text("# an older report\n")
    code, out, _ = report_cli(record, "-o", output, capsys=capsys)
    assert code == 0 and "wrote" in out
    assert output.read_text().startswith("# Interview report")
    assert stat.S_IMODE(output.stat().st_mode) == 0o600


# -- 3. a line cut by a crash, then more sessions appended ---------------------------------


CUT = '{"type": "transcript", "utterance_id": 2, "speaker": "cand'


def test_recorder_starts_an_append_on_a_fresh_line(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(SESSION_A[0]) + "\n" + CUT, encoding="utf-8")
    sink = JsonlSink(path=path)
    sink.write(StatusEvent("ready", "listening"))
    sink.close()
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[1] == CUT
    assert json.loads(lines[2])["state"] == "ready" and lines[3] == ""


def test_cut_line_inside_the_record_is_skipped_and_noted(tmp_path):
    # Session A crashed mid-line; session B was appended after it (starting on a fresh line).
    path = write(tmp_path / "r.jsonl", SESSION_A, tail=CUT + "\n" + "".join(json.dumps(e) + "\n" for e in SESSION_B))
    first = load_session(path, "aaaa1111")
    assert first.cut_lines == [4] and len(first.events) == 3
    assert "Line 4 of the record was incomplete" in render_report(first)
    assert load_session(path).cut_lines == []


def test_cut_line_in_a_record_without_sessions(tmp_path):
    path = write(tmp_path / "r.jsonl", INTERVIEW[:2], tail=CUT + "\n" + json.dumps(INTERVIEW[2]) + "\n" + '{"ty')
    session = load_session(path)
    assert session.cut_lines == [3, 5] and len(session.events) == 3
    assert "Lines 3, 5 of the record were incomplete" in render_report(session)


@pytest.mark.parametrize("content", [
    b'{"type": "status", "state": "ready"}\nhello\n{"type": "status", "state": "ready"}\n',
    b'{"type": "status", "state": "ready"}\n{"type": 5}\n',
    b'{"type": "status", "state": "ready"}\n[1, 2]\n',
])
def test_a_line_that_is_no_event_is_still_an_error(tmp_path, content):
    path = tmp_path / "r.jsonl"
    path.write_bytes(content)
    with pytest.raises(S2QError, match=r"r\.jsonl:2: not a JSON event"):
        load_session(path)


# -- 4. several sessions in one record ---------------------------------------------------


def test_two_sessions_report_the_last_and_list_the_other(tmp_path):
    report = render_report(load_session(write(tmp_path / "r.jsonl", SESSION_A + SESSION_B)))
    transcript = section(report, "Transcript")
    assert "Second call question." in transcript and "First call" not in transcript
    assert "| **Total** | 12.0 s |" in section(report, "Talk time")
    assert "**Duration:** 00:12" in report and "**Date:** 2025-03-01 11:30" in report
    assert "**Session:** `bbbb2222`, 2 of 2 in this record" in report
    assert "| `aaaa1111` | 2025-03-01 10:00 | 00:30 |" in section(report, "Other sessions in this record")


def test_session_chosen_by_id(tmp_path, capsys):
    path = write(tmp_path / "r.jsonl", SESSION_A + SESSION_B)
    code, out, _ = report_cli(path, "--session", "aaaa1111", capsys=capsys)
    assert code == 0
    assert "First call answer." in section(out, "Transcript") and "Second call" not in out
    assert "| `bbbb2222` |" in section(out, "Other sessions in this record")


def test_unknown_session_id_lists_the_ids(tmp_path, capsys):
    path = write(tmp_path / "r.jsonl", SESSION_A + SESSION_B)
    code, _, err = report_cli(path, "--session", "nope", capsys=capsys)
    line = one_error_line(err)
    assert code != 0 and "no session 'nope'" in line and "'aaaa1111', 'bbbb2222'" in line


def test_record_from_before_session_ids_is_one_session(tmp_path):
    session = load_session(write(tmp_path / "r.jsonl", INTERVIEW))
    assert session.id == "untagged" and session.others == [] and len(session.events) == len(INTERVIEW)
    assert "Other sessions" not in render_report(session) and "**Session:**" not in render_report(session)


def test_old_record_then_a_new_session(tmp_path):
    session = load_session(write(tmp_path / "r.jsonl", INTERVIEW + SESSION_B))
    assert session.id == "bbbb2222" and [s.id for s in session.record] == ["untagged", "bbbb2222"]


def test_session_start_is_written_first(tmp_path):
    from pipeline.session.run import run_session

    class Engine:
        finishing = False

        def events(self):
            yield StatusEvent("ready", "listening")

    path = tmp_path / "r.jsonl"
    start = SessionStartEvent.new(role="ml-engineer", source="call.wav")
    assert run_session(Engine(), [JsonlSink(path=path)], start) == 0
    events = [json.loads(line) for line in path.read_text().splitlines()]
    assert [e["type"] for e in events] == ["session_start", "status"]
    assert events[0]["id"] == start.id and re.fullmatch(r"[0-9a-f]{8}", start.id)
    assert events[0]["source"] == "call.wav" and events[0]["role"] == "ml-engineer" and events[0]["version"]
    assert load_session(path).started_at is not None
    assert SessionStartEvent.new(None, "x").id != start.id


# -- 5. disk full keeps the live view going -------------------------------------------------


def test_replay_with_disk_full_record(s2q, mono_clip):
    path, _ = mono_clip
    proc = s2q("replay", path, "--fast", "--record", "/dev/full", "--jsonl")
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert events[0]["type"] == "session_start"
    assert "tell me about your last job" in " ".join(e.get("text", "") for e in events).lower()
    assert "Traceback" not in proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("s2q: warning:")]
    assert len(warnings) == 1, proc.stderr
    assert "/dev/full" in warnings[0] and "live view continues" in warnings[0] and "0 events" in warnings[0]


def test_record_keeps_what_was_written_before_the_disk_filled(tmp_path, monkeypatch):
    path, warned = tmp_path / "r.jsonl", []
    sink = JsonlSink(path=path, on_failure=warned.append)
    sink.write(StatusEvent("ready", "one"))
    real_write = os.write

    def full(fd, data):
        if fd == sink._fd:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full)
    for _ in range(3):
        sink.write(StatusEvent("ready", "two"))
    sink.close()
    assert len(warned) == 1 and "keeps the 1 event written before" in warned[0]
    assert [json.loads(line)["message"] for line in path.read_text().splitlines()] == ["one"]


# -- 9. nothing from a record reaches the Markdown unescaped --------------------------------


HOSTILE = ["x`<script>alert(1)</script>`", "a\n\n<img src=x onerror=alert(1)>", "`", "<b>|c|</b>"]


def test_hostile_values_are_escaped(tmp_path):
    events = [{"type": "coverage", "competencies": {h: 1 for h in HOSTILE} | {"ok-id": 0}, "stages": {}},
              {"type": "question_asked", "id": HOSTILE[0], "stage": HOSTILE[1], "competencies": HOSTILE},
              {"type": "red_flag", "id": HOSTILE[2], "name": HOSTILE[3], "quote": HOSTILE[1], "probes": HOSTILE},
              {"type": "status", "state": HOSTILE[0], "message": HOSTILE[1]},
              {"type": "status", "state": HOSTILE[3]},
              {"type": "status", "state": "shedding", "details": {"start": 1, "end": 2, "speaker": HOSTILE[0]}},
              said(0, HOSTILE[1], 0, 1, HOSTILE[0])]
    report = render_report(load_session(write(tmp_path / "r.jsonl", events)))
    assert not re.search(r"(?<!\\)<", report), report  # every `<` is escaped: no tag survives
    for line in report.splitlines():
        assert len(re.findall(r"(?<!\\)`", line)) % 2 == 0, line  # no code span left open
    assert "- `ok-id`" in section(report, "Competencies")


# -- 10. broken input and outputs: one line, no traceback -----------------------------------


DAMAGED = [
    '{"type": "transcript", "start": Infinity, "end": NaN, "text": "t", "speaker": "candidate"}',
    '{"type": "transcript", "start": -Infinity, "end": 1e400, "text": "t", "final": "no"}',
    '{"type": "question_asked", "id": ["a", "b"], "stage": {"x": 1}, "competencies": 5, "start": 1e308}',
    '{"type": "red_flag", "id": "f", "probes": {"q1": 1}, "start": 99999999999999999999999999999}',
    '{"type": "status", "state": "shedding", "details": "string details"}',
    '{"type": "status", "state": "cut", "details": [1, 2]}',
    '{"type": "suggestion", "items": [1, "x", {"id": ["l"]}, {"id": "q", "text": 5}], "after_utterance": [1]}',
    '{"type": "coverage", "competencies": {"a": Infinity, "b": 1e308}, "stages": [1]}',
    '{"type": "transcript", "utterance_id": {"a": 1}, "start": 1, "end": 3, "text": ["x"]}',
    '{"type": "session_start", "id": ["x"], "started_at": 5}',
]


def test_damaged_values_still_give_a_report(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(DAMAGED) + "\n")
    for session in record_module.load_record(path):
        assert render_report(session).startswith("# Interview report")


@pytest.mark.parametrize("line", DAMAGED)
def test_each_damaged_value_alone(tmp_path, line):
    path = tmp_path / "r.jsonl"
    path.write_text(line + "\n")
    assert render_report(load_session(path)).startswith("# Interview report")


@pytest.mark.parametrize("content", ["[1, 2]\n", '"text"\n', "null\n", "5\n", "[" * 100000 + "\n"])
def test_non_dict_events_are_one_line_errors(tmp_path, capsys, content):
    path = tmp_path / "r.jsonl"
    path.write_text(content)
    code, _, err = report_cli(path, capsys=capsys)
    assert code != 0 and "not a JSON event" in one_error_line(err)


def test_endless_or_special_files_are_refused(capsys):
    for special in ("/dev/zero", "/dev/null"):
        code, _, err = report_cli(special, capsys=capsys)
        assert code != 0 and "not a regular file" in one_error_line(err)


@pytest.mark.parametrize("writer", [False, True])
def test_fifo_is_refused_without_hanging(tmp_path, s2q, writer):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    # Without a writer, opening a FIFO waits for one; with a writer that never writes, reading waits.
    fd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK) if writer else None
    try:
        proc = s2q("report", fifo, timeout=30)
        as_output = s2q("report", write(tmp_path / "s.jsonl", INTERVIEW), "-o", fifo, timeout=30) if writer else None
    finally:
        if fd is not None:
            os.close(fd)
    assert proc.returncode != 0 and "not a regular file" in one_error_line(proc.stderr)
    if as_output is not None:  # a FIFO as -o is no record: the report goes into it
        assert as_output.returncode == 0, as_output.stderr


def test_read_is_capped(tmp_path, monkeypatch):
    monkeypatch.setattr(record_module, "MAX_RECORD_BYTES", 1000)
    path = write(tmp_path / "big.jsonl", INTERVIEW * 5)
    with pytest.raises(S2QError, match="larger than"):
        load_session(path)


def _output_cases(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "folder").mkdir()
    return {"folder": tmp_path / "folder", "device-full": Path("/dev/full"),
            "under-a-file": tmp_path / "s.jsonl" / "report.md", "proc": Path("/proc/s2q-report.md")}


@pytest.mark.parametrize("case", ["folder", "device-full", "under-a-file", "proc"])
def test_unwritable_outputs_are_one_line_errors(tmp_path, capsys, case):
    record = write(tmp_path / "s.jsonl", INTERVIEW)
    code, _, err = report_cli(record, "-o", _output_cases(tmp_path)[case], capsys=capsys)
    assert code != 0
    one_error_line(err)


def test_read_only_folder_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    record = write(tmp_path / "s.jsonl", INTERVIEW)
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    if os.geteuid() == 0:  # root writes into read-only folders: refuse as the kernel would for a user
        real_open = os.open

        def refuse(path, flags, *args):
            if Path(path).parent == folder and flags & os.O_CREAT:
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
            return real_open(path, flags, *args)

        monkeypatch.setattr(os, "open", refuse)
    try:
        code, _, err = report_cli(record, "-o", folder / "report.md", capsys=capsys)
    finally:
        folder.chmod(0o700)
    assert code != 0 and "cannot write the report" in one_error_line(err) and "Permission denied" in err


# -- property: any record gives a report or one clean error ----------------------------------

EVENT_CLASSES = [c for c in vars(event_types).values()
                 if isinstance(c, type) and issubclass(c, event_types.Event) and c is not event_types.Event]
TYPES = sorted({c.type for c in EVENT_CLASSES})
FIELDS = sorted({f.name for c in EVENT_CLASSES for f in fields(c)} | {"reason", "kind", "waited_s", "shed_total"})
NASTY_TEXT = st.sampled_from(["`", "\n", "<script>", "<img src=x onerror=alert(1)>", "|", "\\", "", "aaaa1111"])
SCALARS = (st.none() | st.booleans() | st.integers() | st.integers(min_value=-10**30, max_value=10**30)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20) | NASTY_TEXT)
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=5), inner, max_size=4),
                    max_leaves=12)
EVENTS = st.fixed_dictionaries({"type": st.sampled_from(TYPES)},
                               optional={name: JSON for name in FIELDS})


def _line(kind_and_value) -> bytes:
    kind, value = kind_and_value
    if kind == "bytes":
        return value.replace(b"\n", b" ")
    text = json.dumps(value, ensure_ascii=False).encode("utf-8")
    return text[: len(text) // 2] if kind == "cut" else text


LINES = st.one_of(
    st.tuples(st.just("event"), EVENTS), st.tuples(st.just("event"), EVENTS),
    st.tuples(st.just("event"), EVENTS), st.tuples(st.just("cut"), EVENTS),
    st.tuples(st.just("json"), JSON), st.tuples(st.just("bytes"), st.binary(max_size=40)),
).map(_line)


@settings(max_examples=200, deadline=2000, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(LINES, max_size=25), session_id=st.none() | st.sampled_from(["aaaa1111", "untagged", "x"]))
def test_any_record_gives_a_report_or_a_clean_error(tmp_path, lines, session_id):
    path = tmp_path / "fuzz.jsonl"
    path.write_bytes(b"\n".join(lines))
    try:
        report = render_report(load_session(path, session_id))
    except S2QError as exc:
        assert "\n" not in str(exc)
        return
    assert not re.search(r"(?<!\\)<", report)
    for line in report.splitlines():
        assert len(re.findall(r"(?<!\\)`", line)) % 2 == 0, line


class _Events:
    """An engine that has some events to give; Ctrl-C asks it to finish (and it gives the rest)."""

    finishing = False

    def __init__(self, events) -> None:
        self._events = events

    def events(self):
        yield from self._events

    def finish(self) -> None:
        self.finishing = True

    def stop(self) -> None: ...


class _Collected:
    def __init__(self, on_write=None) -> None:
        self.events, self.on_write = [], on_write

    def write(self, event) -> None:
        self.events.append(event)
        if self.on_write:
            self.on_write(len(self.events))

    def close(self) -> None: ...


def test_ctrl_c_between_the_record_and_the_view_leaves_the_event_in_both():
    """The record is written first; a Ctrl-C that lands right after it must not leave the event out of
    the view (the live test once saw the two differ at one event)."""
    import signal

    from pipeline.session.run import run_session

    said = [StatusEvent(state="ready", message=str(i)) for i in range(5)]
    record = _Collected(on_write=lambda n: n == 2 and os.kill(os.getpid(), signal.SIGINT))
    view = _Collected()
    engine = _Events(said)

    assert run_session(engine, [record, view], SessionStartEvent.new(role=None, source="test")) == 0
    assert engine.finishing  # the Ctrl-C was taken, as a request to finish
    assert [e.to_dict() for e in view.events] == [e.to_dict() for e in record.events]
    assert len(record.events) == 1 + len(said)
