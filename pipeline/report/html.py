"""The after-call report as one self-contained HTML page: the Markdown report's content, plus a timeline.

The content is the Markdown report itself (render.py decides what the report says, once),
converted here for the small Markdown subset it writes. Every value from the record is
HTML-escaped; the page has no script, and its only style is the inline sheet below.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

from pipeline.events import UNKNOWN
from pipeline.report.actions import clicked_questions
from pipeline.report.record import Session, number
from pipeline.report.render import render_report
from pipeline.sinks.labels import SPEAKER_LABEL, clock, speaker_label

if TYPE_CHECKING:
    from pipeline.retrieval.schema import Bank

REPORT_CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d232b;max-width:60rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem}h2{font-size:1.2rem;border-bottom:1px solid #dde2e8;padding-bottom:.2rem;margin-top:2rem}
h3{font-size:1rem}blockquote{margin:.4rem 0;padding-left:.7rem;border-left:3px solid #b45309;color:#5d6875}
table{border-collapse:collapse}td,th{border:1px solid #dde2e8;padding:.2rem .6rem}td:not(:first-child){text-align:right}
code{background:#f1f3f5;padding:0 .2rem;border-radius:3px}
figure{margin:1rem 0}figcaption{color:#5d6875;font-size:.85rem}svg{width:100%;height:auto}
svg text{font:11px system-ui,sans-serif;fill:#5d6875}
"""

ROW_H, LEFT, WIDTH = 26, 90, 900


def render_html(session: Session, bank: Bank | None = None) -> str:
    """The whole page; `REPORT_CSS` is its only style (the server allows exactly that sheet)."""
    body = markdown_to_html(render_report(session, bank))
    title = html.escape(f"Interview report: {session.path.name}")
    figure = (f'<figure>{timeline_svg(session, bank)}<figcaption>Timeline: who spoke when (audio time), '
              "questions asked (blue), red flags (orange) and compliance alerts (red).</figcaption></figure>")
    # The timeline goes right after the title block, before "Questions asked".
    at = body.find("<h2")
    body = body[:at] + figure + body[at:] if at >= 0 else body + figure
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>'
            f"<style>{REPORT_CSS}</style></head><body>\n{body}\n</body></html>\n")


# -- timeline ------------------------------------------------------------------------


def timeline_svg(session: Session, bank: Bank | None = None) -> str:
    finals = session.transcripts
    heard = {str(e.get("speaker")) for e in finals}
    speakers = ([s for s in SPEAKER_LABEL if s in heard] + sorted(heard - set(SPEAKER_LABEL) - {"None"})
                or ["interviewer", "candidate"])  # named roles first, then voices told apart (speaker-N)
    rows = speakers + ["questions", "alerts"]
    duration = max(session.duration, 1.0)
    height = ROW_H * len(rows) + 24

    def x(t) -> float:
        return round(LEFT + (WIDTH - LEFT - 10) * min(max(number(t), 0.0), duration) / duration, 1)

    def y(row: str) -> int:
        return ROW_H * rows.index(row)

    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" role="img" '
              'aria-label="Timeline of the interview">')]
    labels = {**{s: speaker_label(s) for s in speakers}, "questions": "Questions", "alerts": "Alerts"}
    for row in rows:
        parts.append(f'<text x="4" y="{y(row) + 17}">{html.escape(labels[row])}</text>'
                     f'<rect x="{LEFT}" y="{y(row) + 4}" width="{WIDTH - LEFT - 10}" height="{ROW_H - 8}" fill="#f1f3f5"/>')
    colours = {"interviewer": "#1f5fbf", "candidate": "#0b7a55", UNKNOWN: "#6b5b95"}
    for e in finals:
        row = e.get("speaker") if e.get("speaker") in speakers else speakers[0]
        width = max(x(e.get("end")) - x(e.get("start")), 1.0)
        tip = f"{clock(e.get('start'))} {speaker_label(row)}: {e.get('text', '')}"
        parts.append(f'<rect x="{x(e.get("start"))}" y="{y(row) + 6}" width="{width}" height="{ROW_H - 12}" '
                     f'fill="{colours.get(row, "#6b5b95")}"><title>{html.escape(tip)}</title></rect>')
    for q in session.settled("question_asked") + clicked_questions(session, bank):
        cx, top = x(q.get("start")), y("questions")
        tip = f"{clock(q.get('start'))} asked: {q.get('text') or q.get('id', '')}"
        parts.append(f'<path d="M{cx - 5} {top + 6} L{cx + 5} {top + 6} L{cx} {top + 20} Z" fill="#1f5fbf">'
                     f"<title>{html.escape(tip)}</title></path>")
    for a in session.settled("red_flag") + session.settled("compliance"):
        cx, cy = x(a.get("start")), y("alerts") + ROW_H // 2
        compliance = a.get("type") == "compliance"
        tip = f"{clock(a.get('start'))} {'do not ask' if compliance else 'red flag'}: {a.get('name') or a.get('id', '')}: “{a.get('quote', '')}”"
        shape = (f'<rect x="{cx - 6}" y="{cy - 6}" width="12" height="12" fill="#b91c1c" transform="rotate(45 {cx} {cy})">'
                 if compliance else f'<circle cx="{cx}" cy="{cy}" r="6" fill="#d97706">')
        parts.append(shape + f"<title>{html.escape(tip)}</title>" + ("</rect>" if compliance else "</circle>"))
    step = 60 if duration <= 1200 else 300
    for t in range(0, int(duration) + 1, step):
        parts.append(f'<text x="{x(t) - 12}" y="{height - 6}">{clock(t)}</text>'
                     f'<line x1="{x(t)}" x2="{x(t)}" y1="0" y2="{height - 18}" stroke="#dde2e8"/>')
    parts.append("</svg>")
    return "".join(parts)


# -- the Markdown subset render.py writes --------------------------------------------

_ESCAPED = re.compile(r"\\([\\`*_\[\]<>|#])")
_CODE = re.compile(r"`([^`]*)`")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITALIC = re.compile(r"(?<![\w\\])_(.+?)_(?!\w)")


def inline(text: str) -> str:
    """Escapes first (so nothing from the record is markup), then turns the report's own marks into tags."""
    kept: list[str] = []

    def keep(match: re.Match) -> str:
        kept.append(html.escape(match.group(1)))
        return f"\x00{len(kept) - 1}\x00"

    text = _ESCAPED.sub(keep, text)
    text = _CODE.sub(lambda m: _stash_code(m, kept), text)
    text = html.escape(text, quote=True)
    text = _BOLD.sub(r"<strong>\1</strong>", text)
    text = _ITALIC.sub(r"<em>\1</em>", text)
    return re.sub("\x00(\\d+)\x00", lambda m: kept[int(m.group(1))], text)


def _stash_code(match: re.Match, kept: list[str]) -> str:
    inner = re.sub("\x00(\\d+)\x00", lambda m: kept[int(m.group(1))], html.escape(match.group(1)))
    kept.append(f"<code>{inner}</code>")
    return f"\x00{len(kept) - 1}\x00"


def markdown_to_html(markdown: str) -> str:
    out: list[str] = []
    lists: list[int] = []  # indents of the open <ul>s
    table: list[list[str]] | None = None

    def close_lists(indent: int = -1) -> None:
        while lists and lists[-1] > indent:
            lists.pop()
            out.append("</ul>")

    def flush_table() -> None:
        nonlocal table
        if table:
            head, *rows = table
            out.append("<table><thead><tr>" + "".join(f"<th>{inline(c)}</th>" for c in head) + "</tr></thead><tbody>")
            out.extend("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in row) + "</tr>" for row in rows)
            out.append("</tbody></table>")
        table = None

    for line in markdown.splitlines():
        stripped = line.strip()
        if stripped.startswith("|"):
            close_lists()
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", stripped.strip("|"))]
            if table is None:
                table = []
            if not all(re.fullmatch(r":?-+:?", c) for c in cells):
                table.append(cells)
            continue
        flush_table()
        item = re.match(r"^( *)- (.*)$", line)
        if item:
            indent = len(item.group(1))
            if not lists or indent > lists[-1]:
                lists.append(indent)
                out.append("<ul>")
            else:
                close_lists(indent)
            out.append(f"<li>{inline(item.group(2))}</li>")
            continue
        close_lists()
        heading = re.match(r"^(#{1,3}) (.*)$", line)
        if heading:
            level = len(heading.group(1))
            out.append(f"<h{level}>{inline(heading.group(2))}</h{level}>")
        elif stripped == "---":
            out.append("<hr>")
        elif stripped.startswith("> "):
            out.append(f"<blockquote>{inline(stripped[2:])}</blockquote>")
        elif stripped:
            out.append(f"<p>{inline(stripped)}</p>")
    flush_table()
    close_lists()
    return "\n".join(out)
