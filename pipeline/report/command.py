"""`s2q report`: a session record in, the Markdown report out (stdout or a private file)."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from pipeline.errors import S2QError
from pipeline.report import load_session, render_report
from pipeline.report.html import render_html
from pipeline.report.record import is_record
from pipeline.retrieval.bank import load_bank


class ReportOutputError(S2QError):
    """The report cannot go where `-o` says."""


def handle_report(args) -> int:
    session = load_session(args.record, args.session_id)
    if args.output:
        check_output(args.output, args.record)
    bank = load_bank(args.role, args.bank)
    if args.html:
        text = render_html(session, bank)
    else:
        text = render_report(session, bank)
    if not args.output:
        sys.stdout.write(text)
        return 0
    write_report(args.output, text)
    print(f"wrote {args.output}")
    return 0


def check_output(output: Path, record: Path) -> None:
    """Never overwrite a record: not the one being reported (by any path to it), nor any other."""
    if output.is_dir():
        raise ReportOutputError(f"{output}: is a folder: give a file name for the report, e.g. -o report.md")
    if output.exists():
        try:
            same = os.path.samefile(output, record)
        except OSError:
            same = False
        if same:
            raise ReportOutputError(f"{output}: is the session record being reported: "
                                    "write the report to another file, e.g. -o report.md")
        if is_record(output):
            raise ReportOutputError(f"{output}: is a session record and would be lost: "
                                    "write the report to another file, e.g. -o report.md")


def write_report(output: Path, text: str) -> None:
    """Like the record itself: a report of an interview is for the interviewer only (0600)."""
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                os.fchmod(fd, 0o600)  # a replaced older report would keep its mode otherwise
            f.write(text)
    except OSError as exc:
        raise ReportOutputError(f"cannot write the report to {output}: {exc.strerror or exc}") from None
