"""`s2q bank mine DIR`: what real people said that almost matched an entry, for authors to review.

Each final transcript of the records is scored again by the listener's own `Matcher`; a
sentence is a near miss for an entry when `matcher.rejection` refused it (too low, or too close
to a counter-example) while its score was within `NEAR` of the entry's threshold. A red flag the
interviewer dismissed in the panel (`interviewer_action` `dismiss_alert`) is offered as a hard
negative of that flag: a person judged it wrong. Suggestions are printed, ranked by score;
nothing is ever written to the bank.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import S2QError
from pipeline.events import UNKNOWN
from pipeline.interview import build_interview_step
from pipeline.report.record import SessionError, number, read_events
from pipeline.retrieval import DEFAULT_ROLE
from pipeline.retrieval.matcher import rejection
from pipeline.sinks.labels import clock

NEAR = 0.15  # how far under its threshold a score may be and still count as "close"
KIND_LABEL = {"question": "question", "compliance": "compliance alert", "red_flag": "red flag"}


@dataclass
class NearMiss:
    kind: str
    entry: str
    score: float
    threshold: float
    reason: str  # matcher.rejection's: "too low" or "counter"
    sentence: str
    where: str  # file at mm:ss


@dataclass
class Dismissed:
    """A red flag the interviewer dismissed: its words are a candidate hard negative of the flag."""

    flag: str
    quote: str
    where: str


WANTED = (b"session_start", b"transcript", b"red_flag", b"interviewer_action")


def read_records(folder: Path) -> tuple[list[tuple[str | None, str, str, str]], list[Dismissed]]:
    """One pass over the folder's records: (role, speaker, text, where) of every final transcript, and the
    red flags an `interviewer_action` `dismiss_alert` hid."""
    if not folder.is_dir():
        raise SessionError(f"{folder}: not a folder of session records (the --out of `s2q batch`)")
    said, dismissed = [], []
    for path in sorted(folder.glob("*.jsonl")):
        try:
            events = read_events(path, WANTED)
        except SessionError as exc:
            print(f"s2q: warning: skipped {exc}", file=sys.stderr)
            continue
        role, shown = None, {}
        for kind, event in events:
            where = f"{path.name} at {clock(number(event.get('start')))}"
            if kind == b"session_start":
                role = event.get("role")
            elif kind == b"transcript":
                if event.get("final", True) and event.get("text"):
                    said.append((role, event.get("speaker") or UNKNOWN, event["text"], where))
            elif kind == b"red_flag":
                if isinstance(event.get("key"), str):
                    shown[event["key"]] = (event, where)
            elif event.get("action") == "dismiss_alert" and event.get("target") in shown:
                flag, at = shown[event["target"]]
                dismissed.append(Dismissed(str(flag.get("id")), str(flag.get("quote") or ""), at))
    if not said:
        raise SessionError(f"{folder}: no transcripts in any session record (*.jsonl) here")
    return said, dismissed


def near_misses(matcher, speaker: str, text: str, where: str, entry: str | None = None) -> list[NearMiss]:
    """The matcher's own candidates for each sentence, kept when refused by its rule yet close."""
    found = []
    for unit in matcher.candidates(text, speaker, top=3):
        for c in unit.candidates:
            if entry is not None and c.id != entry:
                continue
            reason = rejection(c, matcher.thresholds)
            threshold = float(matcher.thresholds.of(c.kind))
            if reason is not None and c.score >= threshold - NEAR:
                found.append(NearMiss(c.kind, c.id, c.score, threshold, reason, unit.text, where))
    return found


def mine(folder: Path, bank_root: Path | None, role: str | None, entry: str | None, top: int,
         out=None) -> int:
    out = out or sys.stdout
    said, dismissed = read_records(folder)
    dismissed = [d for d in dismissed if entry is None or d.flag == entry]
    if dismissed:
        print("Red flags the interviewer dismissed: suggested negative examples of each flag, for authors "
              "to review:", file=out)
        for d in dismissed:
            print(f"  red flag {d.flag}: {_safe(d.quote)}    [{_safe(d.where)}]", file=out)
    roles = [role] if role else list(dict.fromkeys(r or DEFAULT_ROLE for r, *_ in said))
    best: dict[tuple[str, str], dict[str, NearMiss]] = {}
    for name in roles:
        matcher = build_interview_step(name, bank_root).matcher
        bank = matcher.index.bank
        ids = {q.id for q in bank.questions} | {f.id for f in bank.red_flags} | {c.id for c in bank.compliance}
        if entry is not None and entry not in ids:
            raise S2QError(f"no entry {entry!r} in the {name} bank (see `s2q bank stats`)")
        for r, speaker, text, where in said:
            if role is None and (r or DEFAULT_ROLE) != name:
                continue
            for miss in near_misses(matcher, speaker, text, where, entry):
                seen = best.setdefault((miss.kind, miss.entry), {})
                key = " ".join(miss.sentence.lower().split())
                if key not in seen or miss.score > seen[key].score:
                    seen[key] = miss
    if not best:
        print("No sentence came within "
              f"{NEAR:g} of a threshold{f' for {entry}' if entry else ''}: nothing to suggest.", file=out)
        return 0
    print("Suggested new examples, for authors to review (nothing was added to the bank):", file=out)
    order = sorted(best.items(), key=lambda kv: -max(m.score - m.threshold for m in kv[1].values()))
    for (kind, entry_id), misses in order:
        ranked = sorted(misses.values(), key=lambda m: -m.score)[:top]
        print(f"\n{KIND_LABEL[kind]} {entry_id} (threshold {ranked[0].threshold:.2f}):", file=out)
        for m in ranked:
            why = "below the threshold" if m.reason == "too low" else "too close to a counter-example"
            print(f"  {m.score:.3f}  {_safe(m.sentence)}    [{_safe(m.where)}; {why}]", file=out)
    return 0


def _safe(text: str) -> str:
    """A sentence from a record, one printable line (no terminal control characters)."""
    return " ".join("".join(c if c.isprintable() else " " for c in str(text)).split())


def handle_mine(args) -> int:
    if args.top < 1:
        raise S2QError("--top must be 1 or more")
    return mine(args.folder, args.bank, args.role, args.entry, args.top)
