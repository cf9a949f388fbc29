"""Tuning the advisor's weights on the `tune` half of the suggestion benchmark (never the `test` half).

    python -m benchmarks.suggestions_tune [--out benchmarks/results/suggestions-tuning.json]

Each role's interview step is built once; every combination of `GRID` (AdvisorOptions fields) is
scored on the tune interviews with a fresh advisor; the combinations are ranked by hit@3 then hit@1.
The winner is what `AdvisorOptions`'s defaults should say (copied there by hand).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
from pathlib import Path

from benchmarks.suggestions import ROLES, load, run_interview, summary

GRID = {
    "answer": [2.0, 4.0],
    "answer_slot": [0.5, 0.55, 0.6, 1.0],
    "probe": [0.5, 1.0],
    "follow_up": [1.5, 2.5],
    "near": [4.0, 6.0],
    "stage_window": [1, 3],
}


class MemoMatcher:
    """The matcher's answers remembered: every combination reads the same utterances."""

    def __init__(self, matcher) -> None:
        self.matcher, self.memo = matcher, {}

    def match(self, text: str, speaker: str, question: str | None = None):
        key = (text, speaker, question)
        if key not in self.memo:
            self.memo[key] = self.matcher.match(text, speaker, question=question)
        return self.memo[key]


def main(argv: list[str] | None = None) -> int:
    from pipeline.interview.advisor_options import AdvisorOptions
    from pipeline.interview.step import build_interview_step

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/suggestions-tuning.json"))
    args = parser.parse_args(argv)
    steps = {role: build_interview_step(role) for role in ROLES}
    for step in steps.values():
        step.matcher = MemoMatcher(step.matcher)
    interviews = {role: [i for i in load(role) if i.split == "tune"] for role in ROLES}
    rows = []
    for values in itertools.product(*GRID.values()):
        options = dataclasses.replace(AdvisorOptions(), **dict(zip(GRID, values)))
        scored = []
        for role, base in steps.items():
            for interview in interviews[role]:
                step = base.fresh()
                step.advisor.options = options
                scored += run_interview(step, interview, clicks=False)[0]
        rows.append({"options": dict(zip(GRID, values)), **summary(scored)})
    rows.sort(key=lambda r: (-r["hit@3"], -r["hit@1"]))
    args.out.write_text(json.dumps({"grid": GRID, "ranked": rows}, indent=1) + "\n")
    for r in rows[:10]:
        print(r)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
