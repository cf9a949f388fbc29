"""`s2q bank stats`: what a role's bank holds, and where it is thin (coverage gaps).

Counts per stage, competency and difficulty come from the loaded bank; thin entries are
`bank.weak_entries`, the same checks `s2q bank validate` warns from.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from pipeline.retrieval.bank import (
    MIN_ALTERNATIVES,
    MIN_RED_FLAG_EXAMPLES,
    load_bank,
    weak_entries,
)

FEW_QUESTIONS = 2  # a competency with fewer questions than this in a stage it appears in is "thin"
MIN_STAGE_QUESTIONS = 3

# How `stats` words each per-entry gap of `weak_entries` (the aggregated few-alternatives list aside).
_GAPS = {
    ("red_flags", "no-probes"): lambda w: f"red flag '{w.entry_id}' has no probes (questions to ask when it fires)",
    ("red_flags", "few-examples"): lambda w: (f"red flag '{w.entry_id}' has {w.count} examples "
                                              f"(at least {MIN_RED_FLAG_EXAMPLES})"),
    ("red_flags", "no-negatives"): lambda w: (f"red flag '{w.entry_id}' has no negative examples "
                                              "(similar answers that must not fire it)"),
    ("compliance", "no-negatives"): lambda w: (f"compliance alert '{w.entry_id}' has no negative examples "
                                               "(lawful questions that sound close)"),
}


def bank_stats(bank) -> dict:
    """Counts per stage, competency and difficulty, phrasings per entry, and coverage gaps (plain data)."""
    stages = [s.id for s in bank.role.stages]
    competencies = [c.id for c in bank.role.competencies]
    per_stage = {s: 0 for s in stages}
    per_competency = {c: 0 for c in competencies}
    per_difficulty = {d: 0 for d in ("easy", "medium", "hard")}
    grid = {s: {c: 0 for c in competencies} for s in stages}
    for q in bank.questions:
        per_stage[q.stage] += 1
        per_difficulty[q.difficulty] += 1
        for c in q.competencies:
            per_competency[c] += 1
            grid[q.stage][c] += 1
    gaps = []
    for s in stages:
        if per_stage[s] == 0:
            gaps.append(f"stage '{s}' has no questions")
        elif per_stage[s] < MIN_STAGE_QUESTIONS:
            gaps.append(f"stage '{s}' has only {per_stage[s]} question(s)")
    for c in competencies:
        if per_competency[c] == 0:
            gaps.append(f"competency '{c}' has no questions in any stage")
    for s in stages:
        thin = [f"{c} ({n})" for c, n in grid[s].items() if 0 < n < FEW_QUESTIONS]
        if thin:
            gaps.append(f"stage '{s}': only one question for " + ", ".join(thin))
    weak = weak_entries(bank.questions, bank.red_flags, bank.compliance)
    gaps += [_GAPS[(w.section, w.check)](w) for w in weak if (w.section, w.check) in _GAPS]
    few_alternatives = [w.entry_id for w in weak if w.check == "few-alternatives"]
    if few_alternatives:
        gaps.append(f"{len(few_alternatives)} question(s) with fewer than {MIN_ALTERNATIVES} alternatives: "
                    + ", ".join(few_alternatives[:10]) + (" ..." if len(few_alternatives) > 10 else ""))
    phrasings = [1 + len(q.alternatives) for q in bank.questions]
    return {
        "role": bank.role.id,
        "name": bank.role.name,
        "questions": len(bank.questions),
        "red_flags": len(bank.red_flags),
        "compliance": len(bank.compliance),
        "neutral": {"interviewer": len(bank.neutral.interviewer), "candidate": len(bank.neutral.candidate)},
        "per_stage": per_stage,
        "per_competency": per_competency,
        "per_difficulty": per_difficulty,
        "stage_competency": grid,
        "difficulty_per_stage": {s: {d: sum(1 for q in bank.questions if q.stage == s and q.difficulty == d)
                                     for d in per_difficulty} for s in stages},
        "phrasings_per_question": round(sum(phrasings) / len(phrasings), 1) if phrasings else 0,
        "red_flag_examples": {rf.id: {"examples": len(rf.examples), "negative_examples": len(rf.negative_examples),
                                      "probes": len(rf.probes)} for rf in bank.red_flags},
        "compliance_examples": {c.id: {"examples": len(c.examples), "negative_examples": len(c.negative_examples),
                                       "alternative": bool(c.alternative)} for c in bank.compliance},
        "gaps": gaps,
    }


def stats(dirs: Iterable[Path], as_json: bool = False, out: IO[str] | None = None) -> int:
    out = out or sys.stdout
    all_stats = [bank_stats(load_bank(directory=d)) for d in dirs]
    if as_json:
        out.write(json.dumps(all_stats, indent=2) + "\n")
        return 0
    for st in all_stats:
        print(f"{st['role']} ({st['name']}): {st['questions']} questions, {st['red_flags']} red flags, "
              f"{st['compliance']} compliance alerts, neutral lines: {st['neutral']['interviewer']} interviewer, "
              f"{st['neutral']['candidate']} candidate", file=out)
        print(f"  {st['phrasings_per_question']} phrasings per question on average (text and alternatives)", file=out)
        print("  questions per stage (easy/medium/hard) and the competencies they cover:", file=out)
        for stage, n in st["per_stage"].items():
            d = st["difficulty_per_stage"][stage]
            covered = ", ".join(f"{c} {k}" for c, k in st["stage_competency"][stage].items() if k)
            print(f"    {stage:<28} {n:>3}  ({d['easy']}/{d['medium']}/{d['hard']})  {covered}", file=out)
        print("  questions per competency:", file=out)
        for comp, n in st["per_competency"].items():
            print(f"    {comp:<28} {n:>3}", file=out)
        d = st["per_difficulty"]
        print(f"  difficulty: {d['easy']} easy, {d['medium']} medium, {d['hard']} hard", file=out)
        if st["red_flag_examples"]:
            print("  red flags (examples / negative examples / probes):", file=out)
            for rid, v in st["red_flag_examples"].items():
                print(f"    {rid:<28} {v['examples']:>3} / {v['negative_examples']:>3} / {v['probes']}", file=out)
        if st["compliance_examples"]:
            print("  compliance alerts (examples / negative examples / lawful alternative):", file=out)
            for cid, v in st["compliance_examples"].items():
                print(f"    {cid:<28} {v['examples']:>3} / {v['negative_examples']:>3} / "
                      f"{'yes' if v['alternative'] else 'no'}", file=out)
        print(f"  gaps: {len(st['gaps']) or 'none'}", file=out)
        for gap in st["gaps"]:
            print(f"    - {gap}", file=out)
    return 0
