"""`s2q report`: a session record in, the Markdown report out (stdout or a private file)."""

from __future__ import annotations

import os
import sys


def handle_report(args) -> int:
    from pipeline.report import load_session, render_report
    from pipeline.retrieval.bank import load_bank

    session, bank = load_session(args.session), load_bank(args.role, args.bank)
    if getattr(args, "html", False):
        from pipeline.report.html import render_html

        text = render_html(session, bank)
    else:
        text = render_report(session, bank)
    if not args.output:
        sys.stdout.write(text)
        return 0
    # Like the record itself: a report of an interview is for the interviewer only.
    args.output.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {args.output}")
    return 0
