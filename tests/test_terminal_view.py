"""The default view, what `make demo` shows: `s2q replay` in a pseudo-terminal of 80x24.

The demo runs (--fast) until the screen has shown, by its first minute, a transcript line of each
speaker, a suggestion with its reason, the red flag and the compliance alert with its lawful
alternative, and the status line; then Ctrl-C is typed into the terminal, as a person would, and
the record must hold everything the screen showed.

The screen is read from what rich's Live writes: each redraw moves the cursor up over the last
frame and erases it, so the text after the last erase run is the frame on screen.
"""

from __future__ import annotations

import codecs
import fcntl
import json
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest
from demo_checks import DEMO, TURNS
from rich.cells import cell_len

ROOT = Path(__file__).resolve().parents[1]
ROWS, COLS = 24, 80
ERASE_UP = "\x1b[1A\x1b[2K"  # rich's LiveRender.position_cursor: up one line, erase it
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
DEMO_S = 193.19  # the demo's length (s)
COMPLIANCE_AT = next(t["end"] for t in TURNS if "age" in t["labels"])  # 65.7 s: the first minute's events


def frames(raw: str) -> list[list[str]]:
    """Every frame drawn so far, as plain text lines."""
    out = []
    for chunk in re.split(rf"(?:{re.escape(ERASE_UP)})+", raw)[1:]:
        text = ANSI.sub("", chunk).replace("\r\n", "\n").replace("\r", "").replace("^C", "")  # the tty's echo
        lines = text.split("\n")
        ends = [i for i, line in enumerate(lines) if line.startswith((" competencies ", " coverage: "))]
        out.append(lines[: ends[-1] + 1] if ends else lines)  # the frame, not what was printed after it
    return out


def screen_parts(frame: list[str]) -> dict[str, list[str]]:
    """The frame's panels by title (lines between a panel's top and bottom borders)."""
    parts, current = {"status": frame[:1]}, None
    for line in frame[1:]:
        top = re.match(r"^╭─ (.+?) ─", line)
        if top:
            current = top.group(1)
            parts[current] = []
        elif line.startswith("╰"):
            current = None
        elif current:
            parts[current].append(line.strip("│ "))
        elif line.strip():
            parts.setdefault("below", []).append(line)
    return parts


def shows_the_first_minute(frame: list[str]) -> bool:
    parts = screen_parts(frame)
    transcript, ask, alerts = (" ".join(parts.get(k, [])) for k in ("Transcript", "Ask next", "Alerts"))
    return ("Interviewer: " in transcript and "Candidate: " in transcript
            and re.search(r"1\. \S", ask) is not None and "↳ " in ask
            and "⚑ red flag" in alerts and "⚠ do not ask Age" in alerts and "Ask instead:" in alerts)


class Terminal:
    """A child on the slave side of a pty (its controlling terminal); the test reads the master."""

    def __init__(self, args: list[str], env: dict) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))

        def controlling_tty() -> None:
            signal.signal(signal.SIGINT, signal.SIG_DFL)  # as a shell starts it (a background job's is ignored)
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT,
                                     preexec_fn=controlling_tty, close_fds=True)
        os.close(slave)
        self.raw = ""
        self._decode = codecs.getincrementaldecoder("utf-8")().decode  # a character may span two reads
        self._thread: threading.Thread | None = None

    def read_some(self, timeout: float = 0.5) -> bool:
        """What the terminal shows next; False once the child closed it. While the test does not
        read, the child's next redraw blocks, and so does the pipeline (--fast waits for it)."""
        if not select.select([self.master], [], [], timeout)[0]:
            return True
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: the child closed the terminal
            return False
        self.raw += self._decode(data)
        return bool(data)

    def drain(self) -> None:
        """Keeps reading on a thread until the child closes the terminal."""
        def loop() -> None:
            while self.read_some():
                pass
        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self._thread is not None:
            self._thread.join(timeout=10)
        os.close(self.master)


@pytest.fixture(scope="module")
def demo_three_times(tmp_path_factory) -> Path:
    """The demo, then twice again: --fast transcribes it at many times real time and does not wait for
    the screen, so a Ctrl-C typed when the screen shows the first minute must still find audio to cut."""
    import numpy as np
    from conftest import write_wav

    from pipeline.audio.decode import decode_file

    return write_wav(tmp_path_factory.mktemp("view") / "demo-x3.wav", np.tile(decode_file(DEMO, 2), 3))


@pytest.mark.skipif(sys.platform != "linux", reason="pty and TIOCSCTTY as on Linux")
def test_demo_in_the_live_view_at_80x24_then_ctrl_c(tmp_path, demo_three_times):
    record = tmp_path / "view.jsonl"
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR", "TERM")}
    env.update(TERM="xterm-256color", HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
    term = Terminal([sys.executable, "-m", "pipeline", "replay", str(demo_three_times), "--channels",
                     "interviewer,candidate", "--fast", "--record", str(record)], env)
    try:
        deadline, checked = time.monotonic() + 240, 0
        while True:
            assert term.read_some(), f"exited ({term.proc.wait()}):\n{term.raw[-3000:]}"
            tail = term.raw[max(0, term.raw.rfind(ERASE_UP, 0, checked)):]  # from the last frame checked
            checked = len(term.raw)
            if any(shows_the_first_minute(f) for f in frames(tail)):
                break
            assert time.monotonic() < deadline, "the first minute never showed:\n" + "\n".join(frames(term.raw)[-1])
        term.type("\x03")  # Ctrl-C, through the terminal: SIGINT to the foreground process group
        term.drain()
        rc = term.proc.wait(timeout=60)
    finally:
        term.close()
    drawn = frames(term.raw)
    first = next(f for f in drawn if shows_the_first_minute(f))
    assert rc == 0, term.raw[-3000:]
    assert "Traceback" not in term.raw, term.raw[-3000:]

    # The screen: fits 80x24, the status line on top.
    for frame in drawn:
        lines = [line for line in frame if line]
        assert len(lines) <= ROWS and all(cell_len(line) <= COLS for line in lines), "\n".join(frame)
    status = first[0]
    assert re.match(r"^ s2q  ml-engineer · 0[01]:\d\d · suggestion in \d+ ms · (keeping up|BEHIND)", status), status
    seconds = int(status.split("·")[1].split(":")[0]) * 60 + int(status.split("·")[1].split(":")[1])
    assert seconds <= COMPLIANCE_AT + 15, status  # all of it by the end of the demo's first minute
    assert "stages" in " ".join(screen_parts(first).get("below", []))  # coverage of the plan, at the bottom

    # Ctrl-C: the record is complete, every line whole, and holds what the screen showed.
    text = record.read_text()
    assert text.endswith("\n")
    events = [json.loads(line) for line in text.splitlines()]
    assert events[0]["type"] == "session_start"
    finals = [e for e in events if e["type"] == "transcript" and e["final"]]
    assert finals[-1]["end"] < 2 * DEMO_S + TURNS[-1]["start"], "Ctrl-C came after the end: nothing was cut"
    alerts = [line for line in screen_parts(first)["Alerts"] if line]
    flag = next(line for line in alerts if line.startswith("⚑ red flag "))
    age = next(line for line in alerts if line.startswith("⚠ do not ask Age"))
    assert any(e["type"] == "red_flag" and flag.startswith(f"⚑ red flag {e['name']} — “") for e in events), flag
    assert any(e["type"] == "compliance" and e["id"] == "age" and e["alternative"]
               and age.endswith(f"Ask instead: {e['alternative']}") for e in events), age
    last = screen_parts(drawn[-1])["Transcript"]
    shown = [re.sub(r"^\d\d:\d\d (Interviewer|Candidate): ", "", line) for line in last
             if re.match(r"^\d\d:\d\d (Interviewer|Candidate): ", line)]
    assert shown, last
    for line in shown:  # the first row of each line on screen (a long line wraps)
        assert any(e["text"].startswith(line.rstrip("…").strip()) for e in finals), (line, [e["text"] for e in finals])
