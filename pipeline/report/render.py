"""The after-call report: a session record rendered as Markdown.

Pure functions over the recorded events, so a report can be made from any
record, long after the call, without loading models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.events import SPEAKERS, UNKNOWN, StatusState
from pipeline.report.actions import BY_CLICK, clicked_questions
from pipeline.report.markdown import blockquote, code, md, ordered, percentages, plural
from pipeline.report.record import Session, number
from pipeline.sinks.labels import clock, speaker_label

if TYPE_CHECKING:  # the bank (pydantic) is only needed when a caller passes one
    from pipeline.retrieval.schema import Bank

MAX_NEVER_ASKED = 10
# Status states that say nothing about the quality of the record.
UNNOTED_STATES: tuple[StatusState, ...] = ("ready", "shedding")  # routine, or summarised on its own


# -- rendering ---------------------------------------------------------------------


def render_report(session: Session, bank: Bank | None = None) -> str:
    """The whole report, section by section, in the order an interviewer reads it after the call."""
    asked = session.settled("question_asked") + clicked_questions(session, bank)
    sections = [
        _title(session, bank),
        _questions(session, asked, bank),
        _competencies(session, asked, bank),
        _red_flags(session, asked, bank),
        _compliance(session),
        _never_asked(session, asked),
        _talk_time(session),
        _transcript(session),
        _other_sessions(session),
        _footer(session, bank),
    ]
    return "\n\n".join(s.strip("\n") for s in sections if s) + "\n"


def _title(session: Session, bank: Bank | None) -> str:
    lines = [f"# Interview report: {_file_name(session)}", ""]
    if session.started_at:
        lines.append(f"- **Date:** {session.started_at:%Y-%m-%d %H:%M}")
    elif session.recorded_at:
        lines.append(f"- **Date:** {session.recorded_at:%Y-%m-%d %H:%M} (when the record was last written)")
    lines.append(f"- **Duration:** {clock(session.duration)} of audio")
    start = (session.of("session_start") or [{}])[0]
    if start.get("source"):
        lines.append(f"- **Audio:** {md(start['source'])}")
    if bank is not None:
        lines.append(f"- **Role:** {md(bank.role.name)}")
    if session.others:
        position = session.record.index(session) + 1
        lines.append(f"- **Session:** {code(session.id)}, {position} of {len(session.record)} in this record "
                     "(the others are listed at the end; choose one with `--session ID`)")
    return "\n".join(lines)


def _other_sessions(session: Session) -> str:
    """The record's other sessions, so a report of one does not hide that there are more."""
    if not session.others:
        return ""
    lines = ["## Other sessions in this record", "", "| Session | Started | Duration |", "|---|---|---:|"]
    for other in session.others:
        started = f"{other.started_at:%Y-%m-%d %H:%M}" if other.started_at else "unknown"
        lines.append(f"| {code(other.id)} | {started} | {clock(other.duration)} |")
    return "\n".join(lines)


def _questions(session: Session, asked: list[dict], bank: Bank | None) -> str:
    lines = ["## Questions asked"]
    if not asked:
        return "\n".join(lines + ["", "_No question from the bank was recognised._"])
    by_stage: dict[str, list[dict]] = {}
    for event in sorted(asked, key=lambda e: number(e.get("start"))):
        by_stage.setdefault(str(event.get("stage") or "unknown"), []).append(event)
    names = {s.id: s.name for s in bank.role.stages} if bank else {}
    for stage in ordered(by_stage, _stage_order(session, bank)):
        heading = names.get(stage, stage)
        lines += ["", f"### {md(heading)} ({len(by_stage[stage])})", ""]
        for event in by_stage[stage]:
            lines.append(f"- **{clock(event.get('start'))}** {md(event.get('text') or event.get('id', ''))}"
                         + (" _(marked asked in the panel)_" if event.get("by") == BY_CLICK else ""))
            if event.get("quote"):
                lines.append(f"  - said: “{md(event['quote'])}”")
    return "\n".join(lines)


def _stage_order(session: Session, bank: Bank | None) -> list[str]:
    """The bank's interview order; else the order the advisor reported stages in."""
    if bank is not None:
        return [s.id for s in bank.role.stages]
    coverage = session.of("coverage")
    stages = coverage[-1].get("stages") if coverage else None
    return list(stages) if isinstance(stages, dict) else []


def _competencies(session: Session, asked: list[dict], bank: Bank | None) -> str:
    coverage = session.of("coverage")
    if coverage and isinstance(coverage[-1].get("competencies"), dict):
        counts = {str(k): int(number(v)) for k, v in coverage[-1]["competencies"].items()}
        for event in (e for e in asked if e.get("by") == BY_CLICK):  # the advisor never saw these
            for c in event.get("competencies") or []:
                counts[c] = counts.get(c, 0) + 1
    else:  # no advisor output (e.g. `--no-advice`, or a crash before it): count what was asked
        counts = {}
        for event in asked:
            for c in event.get("competencies") or []:
                counts[c] = counts.get(c, 0) + 1
    names = {c.id: c.name for c in bank.role.competencies} if bank else {}
    order = ordered(list(names) + list(counts), list(names))
    covered = [c for c in order if counts.get(c, 0) > 0]
    missing = [c for c in order if counts.get(c, 0) == 0]

    def label(c: str) -> str:
        return f"{md(names[c])} ({code(c)})" if c in names else code(c)

    lines = ["## Competencies"]
    if not order:
        return "\n".join(lines + ["", "_No coverage information in this record._"])
    lines += ["", f"**Covered** ({len(covered)} of {len(covered) + len(missing)})", ""]
    lines += [f"- {label(c)}: {plural(counts[c], 'question')}" for c in covered] or ["- none"]
    lines += ["", f"**Missing** ({len(missing)})", ""]
    lines += [f"- {label(c)}" for c in missing] or ["- none: every competency got at least one question"]
    return "\n".join(lines)


def _red_flags(session: Session, asked: list[dict], bank: Bank | None) -> str:
    flags = sorted(session.settled("red_flag"), key=lambda e: number(e.get("start")))
    lines = ["## Red flags"]
    if not flags:
        return "\n".join(lines + ["", "_None raised._"])
    for flag in flags:
        lines += _alert_heading(flag)
        probes = list(flag.get("probes") or [])
        # "Afterwards" in audio time: a probe asked before the flag did not follow it up.
        followed = [q for q in asked if q.get("id") in probes and number(q.get("start")) >= number(flag.get("start"))]
        if followed:
            first = min(followed, key=lambda q: number(q.get("start")))
            wording = md(first.get("text") or first["id"])
            lines.append(f"Probed afterwards: **yes**, at {clock(first.get('start'))}: {wording}")
        elif probes:
            lines.append("Probed afterwards: **no**. Questions that would have probed it:")
            lines += [f"- {md(_question_text(p, bank))}" for p in probes]
        else:
            lines.append("Probed afterwards: **no** (the bank has no probe question for it)")
    return "\n".join(lines)


def _alert_heading(event: dict) -> list[str]:
    """A red flag's or compliance alert's heading (name, time) and the quote that raised it."""
    name = md(event.get("name") or event.get("id", ""))
    return ["", f"### {name} ({clock(event.get('start'))})", "", blockquote(event.get("quote", "")), ""]


def _compliance(session: Session) -> str:
    alerts = sorted(session.settled("compliance"), key=lambda e: number(e.get("start")))
    lines = ["## Compliance alerts"]
    if not alerts:
        return "\n".join(lines + ["", "_None: no question that must not be asked was recognised._"])
    for alert in alerts:
        lines += _alert_heading(alert)
        alternative = alert.get("alternative")
        lines.append(f"Lawful alternative: {md(alternative)}" if alternative
                     else "Lawful alternative: none: leave this topic out.")
    return "\n".join(lines)


def _never_asked(session: Session, asked: list[dict]) -> str:
    asked_ids = {e.get("id") for e in asked}
    ends = {e.get("utterance_id"): e.get("end") for e in session.transcripts}
    last: dict[str, tuple[int, int, dict, Any]] = {}  # id -> (event index, item rank, item, utterance)
    for index, event in enumerate(session.of("suggestion")):
        for rank, item in enumerate(event.get("items") or []):
            if isinstance(item, dict) and item.get("id") and item["id"] not in asked_ids:
                last[item["id"]] = (index, rank, item, event.get("after_utterance"))
    # Most recently suggested first; within one suggestion, the advisor's own ranking.
    ranked = sorted(last.values(), key=lambda v: (-v[0], v[1]))
    lines = ["## Suggested questions never asked"]
    if not ranked:
        return "\n".join(lines + ["", "_None: every suggested question was asked (or nothing was suggested)._"])
    lines.append("")
    for _, _, item, utterance in ranked[:MAX_NEVER_ASKED]:
        when = f", last suggested at {clock(ends[utterance])}" if ends.get(utterance) is not None else ""
        reason = f" _({md(item['reason'])}{when})_" if item.get("reason") else (f" _({when[2:]})_" if when else "")
        lines.append(f"- {md(item.get('text') or item['id'])}{reason}")
    if len(ranked) > MAX_NEVER_ASKED:
        lines += ["", f"_…and {len(ranked) - MAX_NEVER_ASKED} more._"]
    return "\n".join(lines)


def _talk_time(session: Session) -> str:
    seconds: dict[str, float] = {}
    words: dict[str, int] = {}
    for event in session.transcripts:
        who = str(event.get("speaker") or UNKNOWN)
        seconds[who] = seconds.get(who, 0.0) + max(0.0, number(event.get("end")) - number(event.get("start")))
        words[who] = words.get(who, 0) + len(str(event.get("text") or "").split())
    lines = ["## Talk time"]
    if not seconds:
        return "\n".join(lines + ["", "_No transcribed speech._"])
    speakers = ordered(seconds, list(SPEAKERS))
    shares = percentages([seconds[s] for s in speakers])
    lines += ["", "| Speaker | Speech | Share | Words |", "|---|---:|---:|---:|"]
    for who, share in zip(speakers, shares):
        lines.append(f"| {md(speaker_label(who))} | {seconds[who]:.1f} s | {share}% | {words[who]} |")
    lines.append(f"| **Total** | {sum(seconds.values()):.1f} s | 100% | {sum(words.values())} |")
    return "\n".join(lines)


def _transcript(session: Session) -> str:
    lines = ["## Transcript"]
    finals = session.transcripts
    if not finals:
        return "\n".join(lines + ["", "_Empty._"])
    for event in finals:
        who = md(speaker_label(event.get("speaker")))
        lines += ["", f"**{clock(event.get('start'))} {who}:** {md(event.get('text', ''))}"]
    return "\n".join(lines)


def _footer(session: Session, bank: Bank | None) -> str:
    notes = []
    shed = [e for e in session.of("status") if e.get("state") == "shedding"]
    if shed:
        spans = [e.get("details") or {} for e in shed]
        lost = sum(max(0.0, number(d.get("end")) - number(d.get("start"))) for d in spans)
        where = ", ".join(_span(d) for d in spans[:10] if "start" in d) + (", …" if len(spans) > 10 else "")
        notes.append(f"The transcriber fell behind real time and skipped {plural(len(shed), 'stretch')} of speech "
                     f"({lost:.1f} s{': ' + where if where else ''}): the transcript, questions and alerts "
                     "above miss what was said there.")
    seen = set()
    for event in session.of("status"):
        state = event.get("state")
        key = (state, event.get("message"))
        if state in UNNOTED_STATES or key in seen:
            continue
        seen.add(key)
        message = event.get("message")
        notes.append(f"Status {code(state)}" + (f": {md(message)}" if message else ""))
    if bank is not None and _foreign_to(session, bank):
        notes.append(f"Some stages or competencies in this record are not in the {code(bank.role.id)} bank: "
                     "was it recorded with another role (`--role`)?")
    if session.cut_lines:
        where = ", ".join(map(str, session.cut_lines[:10])) + (", …" if len(session.cut_lines) > 10 else "")
        one = len(session.cut_lines) == 1
        notes.append(f"{'Line' if one else 'Lines'} {where} of the record {'was' if one else 'were'} incomplete, "
                     "probably cut off by a crash, and skipped.")
    lines = ["---", ""]
    if notes:
        lines += ["**Notes**", ""] + [f"- {n}" for n in notes] + [""]
    lines.append(f"_Made by `s2q report` from {_file_name(session)}._")
    return "\n".join(lines)


def _span(details: dict) -> str:
    who = details.get("speaker")
    return f"{clock(details.get('start'))}–{clock(details.get('end'))}" + (f" {md(who)}" if who else "")


def _foreign_to(session: Session, bank: Bank) -> bool:
    stages = {s.id for s in bank.role.stages}
    competencies = {c.id for c in bank.role.competencies}
    used_stages = {e.get("stage") for e in session.settled("question_asked")}
    used_competencies = set()
    for event in session.of("coverage"):
        used_competencies |= set(event.get("competencies") or {})
    return bool(used_stages - stages or used_competencies - competencies)


# -- small helpers -----------------------------------------------------------------


def _question_text(qid: str, bank: Bank | None) -> str:
    if bank is not None:
        try:
            return bank.question(qid).text
        except KeyError:
            pass
    return qid


def _file_name(session: Session) -> str:
    """As code, so underscores in file names stay readable in the raw Markdown."""
    return code(session.path.name)
