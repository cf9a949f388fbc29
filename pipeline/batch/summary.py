"""`s2q summary DIR`: the team view across a batch's records, gathered fast.

A thousand records must summarise in seconds, so each line's type is read from its first bytes
and only the few event types the summary uses are parsed (with the report's own cleaning,
`pipeline.report.record`); suggestions, status and partial transcripts are never decoded.
Rendering (Markdown, HTML, plots) is in `summary_render.py`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.events import ALERT_TYPES, UNKNOWN
from pipeline.report.record import SessionError, number, read_events, settled_alerts
from pipeline.retrieval import DEFAULT_ROLE
from pipeline.retrieval.bank import BankError, list_roles, load_bank

WANTED = tuple(t.encode() for t in ("session_start", *ALERT_TYPES, "withdrawn", "transcript"))  # what is parsed
NO_INTERVIEWER = "(not given)"


@dataclass
class Interview:
    """What the summary keeps of one record (its last session)."""

    file: str
    interviewer: str = NO_INTERVIEWER
    role: str | None = None
    compliance: list[dict] = field(default_factory=list)  # id, name, quote, start
    questions: Counter = field(default_factory=Counter)  # question id -> times asked
    stages: Counter = field(default_factory=Counter)  # stage id -> questions asked in it
    competencies: Counter = field(default_factory=Counter)
    red_flags: Counter = field(default_factory=Counter)  # red flag id -> times raised
    talk: Counter = field(default_factory=Counter)  # speaker -> seconds


@dataclass
class Team:
    """All interviews of a folder, and the files that could not be read."""

    interviews: list[Interview] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # red flag / alert id -> name, as recorded

    def by_interviewer(self) -> dict[str, list[Interview]]:
        groups: dict[str, list[Interview]] = defaultdict(list)
        for interview in self.interviews:
            groups[interview.interviewer].append(interview)
        return dict(sorted(groups.items(), key=lambda kv: (kv[0] == NO_INTERVIEWER, kv[0].lower())))


def read_interview(path: Path, team: Team) -> Interview | None:
    """One record's last session, from the event types the summary needs; None when unreadable."""
    try:
        events = read_events(path, WANTED)  # a line cut by a crash: the report notes it, the summary skips it
    except SessionError as exc:
        team.unreadable.append((path.name, str(exc)))
        return None
    interview = Interview(path.name)
    seen = False
    alerts: list[dict] = []  # alerts, questions asked and withdrawals, settled once the session is read
    for kind, event in events:
        if kind == b"session_start":
            interview = Interview(path.name, interviewer=event.get("interviewer") or NO_INTERVIEWER,
                                  role=event.get("role"))
            seen, alerts = True, []
        elif kind == b"transcript":
            if event.get("final", True) and not event.get("revision"):  # a revision: same span again
                who = event.get("speaker") or UNKNOWN
                interview.talk[who] += max(0.0, number(event.get("end")) - number(event.get("start")))
        else:
            alerts.append(event)
    for event in settled_alerts(alerts):
        kind = event.get("type")
        if kind == "question_asked":
            interview.questions[event.get("id", "?")] += 1
            interview.stages[event.get("stage", "?")] += 1
            for competency in event.get("competencies") or []:
                interview.competencies[competency] += 1
        elif kind == "red_flag":
            interview.red_flags[event.get("id", "?")] += 1
            team.names.setdefault(event.get("id", "?"), event.get("name") or event.get("id", "?"))
        elif kind == "compliance":
            interview.compliance.append({k: event.get(k) for k in ("id", "name", "quote", "start")})
            team.names.setdefault(event.get("id", "?"), event.get("name") or event.get("id", "?"))
    if not seen and not any((interview.talk, interview.questions, interview.compliance)):
        team.unreadable.append((path.name, "no session events: not a session record"))
        return None
    return interview


def collect(folder: Path) -> Team:
    """Every `*.jsonl` record directly in `folder`, in name order."""
    if not folder.is_dir():
        raise SessionError(f"{folder}: not a folder: give the --out folder of `s2q batch`")
    team = Team()
    for path in sorted(folder.glob("*.jsonl")):
        interview = read_interview(path, team)
        if interview is not None:
            team.interviews.append(interview)
    if not team.interviews:
        raise SessionError(f"{folder}: no session records (*.jsonl) in this folder")
    return team


def load_banks(team: Team, role: str | None, bank_root: Path | None) -> dict:
    """The bank of each role the records name (for names and questions never asked); unknown roles skipped."""
    known = set(list_roles(bank_root))  # a record's role is only a name to look up, never a path
    roles = dict.fromkeys([i.role for i in team.interviews if i.role] or [role or DEFAULT_ROLE])
    banks = {}
    for name in (r for r in roles if r in known):
        try:
            banks[name] = load_bank(name, bank_root)
        except (BankError, OSError, ValueError):
            continue
    return banks

