"""Suggestion benchmark: is the question a good interviewer asks next among those shown just before it?

    python -m benchmarks.suggestions [--split test|tune|all] [--clicks] [--name before]

Scripted interviews (`benchmarks/data/suggestions/ROLE.yaml`, see its README) are fed turn by turn,
as final transcripts with their speaker, through the real interview step (embedder, index, matcher,
verifier, advisor). At every interviewer turn labelled `next`, the suggestions shown just before it
(the last `suggestion` event, or the advisor's opening list) are scored:
- hit@1: the first suggestion is one of `next`; hit@3: one of the first three is;
- already asked: share of shown suggestions the interviewer had already asked (by the labels);
- off stage: share of shown suggestions not in the stage of the question asked next.
`--clicks` also sends the interviewer's *Asked* click for each labelled question right after it
is asked (what an interviewer using the panel does), when the step takes clicks.
Results: `benchmarks/results/suggestions[-NAME].json` and `.md`.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

DATA = Path(__file__).resolve().parent / "data" / "suggestions"
RESULTS = Path(__file__).resolve().parent / "results"
ROLES = ("ml-engineer", "backend-engineer")
SPEAKERS = {"i": "interviewer", "c": "candidate"}
WORDS_PER_S = 2.5  # a turn's length from its words, for audio time
GAP_S = 1.0  # between turns


@dataclass
class Turn:
    speaker: str
    text: str
    next: list[str] = field(default_factory=list)  # good next questions, the one asked first
    minute: float | None = None  # where the turn starts, when the script says


@dataclass
class Interview:
    id: str
    split: str
    flow: str
    turns: list[Turn]


def load(role: str) -> list[Interview]:
    data = yaml.safe_load((DATA / f"{role}.yaml").read_text())
    interviews = []
    for item in data["interviews"]:
        turns = []
        for raw in item["turns"]:
            (key, text), = [(k, v) for k, v in raw.items() if k in SPEAKERS]
            turns.append(Turn(SPEAKERS[key], text, list(raw.get("next", [])), raw.get("minute")))
        interviews.append(Interview(item["id"], item["split"], item.get("flow", ""), turns))
    return interviews


def check_labels(interviews: list[Interview], bank) -> None:
    known = {q.id for q in bank.questions}
    unknown = sorted({qid for i in interviews for t in i.turns for qid in t.next} - known)
    if unknown:
        raise SystemExit(f"labels that are no bank question: {', '.join(unknown)}")


@dataclass
class Scored:
    interview: str
    turn: int
    asked: str
    good: list[str]
    shown: list[str]
    hit1: bool
    hit3: bool
    already_asked: int
    off_stage: int


def run_interview(step, interview: Interview, clicks: bool) -> tuple[list[Scored], list[float]]:
    from pipeline.events import InterviewerActionEvent, SuggestionEvent
    from tests.builders import said

    bank = step.bank
    shown = [s.id for s in step.advisor.suggest()]
    asked: set[str] = set()
    scored, advise_ms = [], []
    t = 0.0
    for n, turn in enumerate(interview.turns):
        if turn.minute is not None:
            t = max(t, turn.minute * 60.0)
        if turn.speaker == "interviewer" and turn.next:
            wanted_stage = bank.question(turn.next[0]).stage
            scored.append(Scored(
                interview.id, n, turn.next[0], turn.next, shown[:3],
                hit1=bool(shown) and shown[0] in turn.next, hit3=any(q in turn.next for q in shown[:3]),
                already_asked=sum(q in asked for q in shown[:3]),
                off_stage=sum(bank.question(q).stage != wanted_stage for q in shown[:3])))
        seconds = max(1.5, len(turn.text.split()) / WORDS_PER_S)
        events = list(step(said(turn.text, turn.speaker, uid=n, start=t, seconds=seconds)))
        t += seconds + GAP_S
        if turn.speaker == "interviewer" and turn.next:
            asked.add(turn.next[0])
            if clicks and hasattr(step, "steer"):
                click = InterviewerActionEvent(action="asked", target=turn.next[0], at=round(t, 3))
                events += list(step.steer(click))
        for event in events:
            if isinstance(event, SuggestionEvent):
                shown = [item["id"] for item in event.items]
                advise_ms.append(event.latency_ms.get("advise") or 0.0)
    return scored, advise_ms


def summary(scored: list[Scored]) -> dict:
    n = len(scored)
    shown = sum(len(s.shown) for s in scored) or 1
    return {"turns": n,
            "hit@1": round(sum(s.hit1 for s in scored) / max(n, 1), 3),
            "hit@3": round(sum(s.hit3 for s in scored) / max(n, 1), 3),
            "already_asked": round(sum(s.already_asked for s in scored) / shown, 3),
            "off_stage": round(sum(s.off_stage for s in scored) / shown, 3)}


def run(split: str, clicks: bool, roles=ROLES) -> dict:
    from pipeline.interview.step import build_interview_step

    out: dict = {"split": split, "clicks": clicks, "roles": {}, "turns": []}
    every: list[Scored] = []
    for role in roles:
        base = build_interview_step(role)
        interviews = [i for i in load(role) if split == "all" or i.split == split]
        check_labels(interviews, base.bank)
        role_scored, advise = [], []
        for interview in interviews:
            scored, ms = run_interview(base.fresh(), interview, clicks)
            role_scored += scored
            advise += ms
        advise.sort()
        out["roles"][role] = {**summary(role_scored), "interviews": len(interviews),
                              "advise_ms_p50": round(advise[len(advise) // 2], 2) if advise else None,
                              "advise_ms_max": round(advise[-1], 2) if advise else None}
        out["turns"] += [s.__dict__ for s in role_scored]
        every += role_scored
    out["all"] = summary(every)
    return out


def markdown(result: dict, command: str) -> str:
    lines = [f"# Suggestion benchmark ({result['split']} split{', with Asked clicks' if result['clicks'] else ''})", "",
             f"`{command}`", "",
             "| role | interviews | scored turns | hit@1 | hit@3 | shown already asked | shown off stage | advise p50 / max ms |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for role, r in result["roles"].items():
        lines.append(f"| {role} | {r['interviews']} | {r['turns']} | {r['hit@1']:.2f} | {r['hit@3']:.2f} | "
                     f"{r['already_asked']:.2f} | {r['off_stage']:.2f} | {r['advise_ms_p50']} / {r['advise_ms_max']} |")
    a = result["all"]
    lines.append(f"| all | | {a['turns']} | {a['hit@1']:.2f} | {a['hit@3']:.2f} | {a['already_asked']:.2f} | "
                 f"{a['off_stage']:.2f} | |")
    lines += ["", "Misses (asked next / shown first three):", ""]
    for s in result["turns"]:
        if not s["hit3"]:
            lines.append(f"- {s['interview']} turn {s['turn']}: `{s['asked']}` / {', '.join(s['shown']) or '(none)'}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("test", "tune", "all"), default="test")
    parser.add_argument("--clicks", action="store_true", help="the interviewer clicks Asked after each question")
    parser.add_argument("--role", choices=ROLES, action="append", help="one role (default: both)")
    parser.add_argument("--name", default="", help="suffix of the result files")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result = run(args.split, args.clicks, tuple(args.role or ROLES))
    result["seconds"] = round(time.perf_counter() - started, 1)
    stem = "suggestions" + (f"-{args.name}" if args.name else "")
    command = "python -m benchmarks.suggestions " + " ".join(argv if argv is not None else __import__("sys").argv[1:])
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{stem}.json").write_text(json.dumps(result, indent=1) + "\n")
    (RESULTS / f"{stem}.md").write_text(markdown(result, command.strip()))
    print(markdown(result, command.strip()).split("\n\nMisses")[0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
