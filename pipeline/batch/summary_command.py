"""`s2q summary FOLDER`: the team summary of a folder of session records (collected, then rendered)."""

from __future__ import annotations

import sys

from pipeline.batch.summary import collect, load_banks
from pipeline.batch.summary_render import render, write_summary
from pipeline.report.record import SessionError


def handle_summary(args) -> int:
    team = collect(args.folder)
    banks = load_banks(team, args.role, args.bank)
    output = args.output
    if output is not None and output.suffix.lower() not in (".md", ".html", ".htm"):
        raise SessionError(f"{output}: the summary is written as .md or .html")
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
    text, images = render(team, banks, output)
    if output is None:
        sys.stdout.write(text)
        return 0
    write_summary(output, text, images)
    print(f"wrote {output}" + (f" and {len(images)} plots next to it" if images else ""))
    return 0
