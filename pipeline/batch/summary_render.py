"""The team summary as Markdown or HTML, with plots (matplotlib when installed, else text bars).

Sections are built once as plain blocks and every value from a record is escaped by the
renderer (`md` from the report for Markdown, `html.escape` for HTML), so no text from a record
can become markup in either.
"""

from __future__ import annotations

import html
from collections import Counter
from pathlib import Path

from pipeline.batch.summary import NO_INTERVIEWER, Interview, Team
from pipeline.events import UNKNOWN
from pipeline.report.command import write_report
from pipeline.report.markdown import md, percentages, plural
from pipeline.sinks.labels import SPEAKER_LABEL, clock

RARELY = 0.10  # a question asked in at most this share of a role's interviews is "rarely asked"
MAX_LISTED = 20
BAR_WIDTH = 30


def _duration(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min"


def _share(n: int, total: int) -> str:
    return f"{round(100 * n / total)}%" if total else "–"


def _compliance(team: Team, groups: dict[str, list[Interview]]) -> list:
    blocks: list = [("h2", "Compliance incidents per interviewer")]
    rows = [[who, len(ivs), sum(len(i.compliance) for i in ivs),
             f"{sum(len(i.compliance) for i in ivs) / len(ivs):.2f}"] for who, ivs in groups.items()]
    blocks.append(("table", ["Interviewer", "Interviews", "Incidents", "Per interview"], rows))
    blocks.append(("plot", "compliance", "Compliance incidents per interviewer",
                   [(r[0], r[2]) for r in rows]))
    if not any(r[2] for r in rows):
        return blocks + [("p", "No question an interviewer must not ask was recognised.")]
    for who, ivs in groups.items():
        items = [(f"{i.file} at {clock(c['start'])}: {c.get('name') or c.get('id')}", c.get("quote") or "")
                 for i in ivs for c in i.compliance]
        if items:
            blocks += [("h3", f"{who}: {plural(len(items), 'incident')}"), ("quotes", items)]
    return blocks


def _coverage(groups: dict[str, list[Interview]], banks: dict, what: str) -> list:
    """Per interviewer, the share of their interviews that reached each stage (or competency)."""
    attr = "stages" if what == "stage" else "competencies"
    names: dict[str, str] = {}
    for bank in banks.values():
        names.update({x.id: x.name for x in getattr(bank.role, attr)})
    seen = Counter()
    for ivs in groups.values():
        for i in ivs:
            seen.update(getattr(i, attr).keys())
    ids = list(names) + sorted(k for k in seen if k not in names)
    if not ids:
        return [("h2", f"Coverage by {what} per interviewer"), ("p", "No bank question was recognised.")]
    rows = [[who, len(ivs)] + [_share(sum(1 for i in ivs if getattr(i, attr)[x]), len(ivs)) for x in ids]
            for who, ivs in groups.items()]
    return [("h2", f"Coverage by {what} per interviewer"),
            ("p", f"Share of each interviewer's interviews in which at least one question of the {what} was asked."),
            ("table", ["Interviewer", "Interviews"] + [names.get(x, x) for x in ids], rows)]


def _red_flags(team: Team) -> list:
    times, interviews = Counter(), Counter()
    for i in team.interviews:
        times.update(i.red_flags)
        interviews.update(i.red_flags.keys())
    blocks: list = [("h2", "Red flags")]
    if not times:
        return blocks + [("p", "No red flag was raised.")]
    n = len(team.interviews)
    rows = [[team.names.get(f, f), f, count, interviews[f], _share(interviews[f], n)] for f, count in times.most_common()]
    return blocks + [("table", ["Red flag", "Id", "Times raised", "Interviews", "Share of interviews"], rows),
                     ("plot", "red-flags", "Red flags: interviews in which each was raised",
                      [(r[0], r[3]) for r in rows])]


def _never_asked(team: Team, banks: dict) -> list:
    blocks: list = [("h2", "Questions never or rarely asked")]
    if not banks:
        return blocks + [("p", "The records' question bank role could not be loaded (see `--role`, `--bank`).")]
    for role, bank in banks.items():
        ivs = [i for i in team.interviews if i.role in (role, None)]
        asked = Counter()
        for i in ivs:
            asked.update(i.questions.keys())
        never = [q for q in bank.questions if not asked[q.id]]
        rare = sorted((q for q in bank.questions if 0 < asked[q.id] <= max(1, RARELY * len(ivs))),
                      key=lambda q: asked[q.id])
        blocks.append(("h3", f"{bank.role.name}: {plural(len(ivs), 'interview')}, {len(bank.questions)} bank questions"))
        for title, questions in ((f"Never asked ({len(never)})", never),
                                 (f"Rarely asked: in at most {round(RARELY * 100)}% of interviews ({len(rare)})", rare)):
            rows = [[q.text, q.id, q.stage, asked[q.id]] for q in questions[:MAX_LISTED]]
            blocks += [("p", title), ("table", ["Question", "Id", "Stage", "Interviews"], rows) if rows
                       else ("p", "none")]
            if len(questions) > MAX_LISTED:
                blocks.append(("p", f"…and {len(questions) - MAX_LISTED} more."))
    return blocks


def _talk_time(groups: dict[str, list[Interview]]) -> list:
    speakers = ["interviewer", "candidate", UNKNOWN]
    rows, plot = [], []
    for who, ivs in groups.items():
        total = Counter()
        for i in ivs:
            total.update(i.talk)
        shares = percentages([total[s] for s in speakers])
        rows.append([who, len(ivs)] + [f"{p}%" for p in shares] + [_duration(sum(total.values()))])
        plot.append((who, shares[0]))
    return [("h2", "Talk-time balance"),
            ("table", ["Interviewer", "Interviews"] + [SPEAKER_LABEL[s] for s in speakers] + ["Speech"], rows),
            ("plot", "talk-time", "Interviewer's share of the talk time (%)", plot)]


def sections(team: Team, banks: dict) -> list:
    groups = team.by_interviewer()
    named = [g for g in groups if g != NO_INTERVIEWER]
    blocks: list = [("h1", f"Team summary: {plural(len(team.interviews), 'interview')}"),
                    ("p", f"{plural(len(named), 'interviewer')} named in the records"
                          + (f"; {len(groups[NO_INTERVIEWER])} interviews without one" if NO_INTERVIEWER in groups else "")
                          + f"; {_duration(sum(sum(i.talk.values()) for i in team.interviews))} of speech.")]
    blocks += _compliance(team, groups) + _coverage(groups, banks, "stage") + _coverage(groups, banks, "competency")
    blocks += _red_flags(team) + _never_asked(team, banks) + _talk_time(groups)
    if team.unreadable:
        blocks += [("h2", "Files skipped"), ("quotes", [(name, why) for name, why in team.unreadable])]
    return blocks


# -- plots ------------------------------------------------------------------------------


def _plot_png(path: Path, title: str, values: list[tuple[str, float]]) -> bool:
    """A horizontal bar chart; False when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    labels = [str(v[0])[:40] for v in values]
    fig, ax = plt.subplots(figsize=(7, 0.4 * len(values) + 1.2))
    ax.barh(labels[::-1], [v[1] for v in values][::-1], color="#4c72b0")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def _text_bars(values: list[tuple[str, float]]) -> list[list]:
    top = max((v for _, v in values), default=0) or 1
    return [[label, "█" * round(BAR_WIDTH * value / top) + f" {value:g}"] for label, value in values]


# -- renderers ----------------------------------------------------------------------------


def render(team: Team, banks: dict, output: Path | None) -> tuple[str, dict[Path, str]]:
    """(text, {png path: title}); plots become PNGs next to `output` when matplotlib is there."""
    as_html = output is not None and output.suffix.lower() in (".html", ".htm")
    images: dict[Path, str] = {}
    out: list[str] = []
    for block in sections(team, banks):
        kind = block[0]
        if kind == "plot":
            _, name, title, values = block
            if not any(v for _, v in values):
                continue
            png = output.with_name(f"{output.stem}-{name}.png") if output is not None else None
            if png is not None and _plot_png(png, title, values):
                images[png] = title
                out.append(f'<p><img src="{html.escape(png.name)}" alt="{html.escape(title)}"></p>' if as_html
                           else f"![{md(title)}]({png.name})")
                continue
            block = ("table", [title, ""], _text_bars(values))
            kind = "table"
        out.append(_html(kind, block) if as_html else _md(kind, block))
    body = "\n\n".join(out) + "\n"
    if as_html:
        body = ("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Team summary</title>"
                "<style>body{font-family:sans-serif;max-width:70em;margin:2em auto}table{border-collapse:collapse}"
                "td,th{border:1px solid #ccc;padding:.2em .5em}blockquote{color:#444}</style></head><body>\n"
                + body + "</body></html>\n")
    return body, images


def _md(kind: str, block: tuple) -> str:
    if kind in ("h1", "h2", "h3"):
        return "#" * int(kind[1]) + " " + md(block[1])
    if kind == "p":
        return md(block[1])
    if kind == "table":
        _, headers, rows = block
        lines = ["| " + " | ".join(md(h) for h in headers) + " |", "|" + "---|" * len(headers)]
        return "\n".join(lines + ["| " + " | ".join(md(c) for c in row) + " |" for row in rows])
    if kind == "quotes":
        return "\n".join(f"- {md(lead)}\n  > {md(quote) or '_(no quote)_'}" for lead, quote in block[1])
    raise ValueError(kind)


def _html(kind: str, block: tuple) -> str:
    e = html.escape
    if kind in ("h1", "h2", "h3", "p"):
        return f"<{kind}>{e(str(block[1]))}</{kind}>"
    if kind == "table":
        _, headers, rows = block
        head = "".join(f"<th>{e(str(h))}</th>" for h in headers)
        body = "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in row) + "</tr>" for row in rows)
        return f"<table><tr>{head}</tr>{body}</table>"
    if kind == "quotes":
        return "<ul>" + "".join(f"<li>{e(str(lead))}<blockquote>{e(str(q))}</blockquote></li>"
                                for lead, q in block[1]) + "</ul>"
    raise ValueError(kind)


def write_summary(output: Path, text: str, images: dict[Path, str]) -> None:
    """Private (0600) like the reports it summarises."""
    write_report(output, text)
    for png in images:
        png.chmod(0o600)
