"""Chooses the red-flag operating point (`matching.red_flag`, `matching.red_flag_topic`) on the verifier's
validation rows, through the listener's own matcher; the test sets are never read.

    .venv/bin/python training/verifier/tune.py [--seed 13]

Validation rows are the ones `train.py` held back (same seed, same split). Each answer is matched as the
listener does (sentences and the whole answer, with its question), every red flag on topic read by the
verifier; then each (topic gate, stance threshold) pair is scored: recall of the row's own flag on `flag`
rows, and false alarms (any red flag) on `healthy` rows, the hard negatives. Prints the table and the pair
with the best recall at false alarms <= TARGET_FALSE_ALARMS, to copy into each role.yaml.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from train import DATA, read_rows, split  # noqa: E402

from pipeline.retrieval.matcher import decide  # noqa: E402

TARGET_FALSE_ALARMS = 0.03
GATES = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4)
STANCES = (0.4, 0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--verifier", type=Path, help="a verifier folder other than the shipped one (a candidate model)")
    args = ap.parse_args()
    from pipeline.interview import build_interview_step
    from pipeline.retrieval.verifier import Verifier

    _, val = split(read_rows(DATA), args.seed)
    scored = []  # (row, units with every candidate verified)
    for role in sorted({r["role"] for r in val}):
        matcher = build_interview_step(role).matcher
        if args.verifier:
            matcher.verifier = Verifier(args.verifier).load()
        matcher.thresholds = matcher.thresholds.model_copy(update={"red_flag_topic": 0.0})
        for r in (r for r in val if r["role"] == role):
            scored.append((r, matcher.scores(r["answer"], "candidate", question=r["question"] or None), matcher))
    table = []
    for gate in GATES:
        for stance in STANCES:
            hits = alarms = flags = healthy = 0
            for r, units, matcher in scored:
                th = matcher.thresholds.model_copy(update={"red_flag_topic": gate, "red_flag": stance})
                found = {h.id for h in decide(r["answer"], "candidate", units, th).red_flags}
                if r["label"] == "flag":
                    flags += 1
                    hits += r["flag"] in found
                else:
                    healthy += 1
                    alarms += bool(found)
            table.append({"red_flag_topic": gate, "red_flag": stance, "recall": round(hits / flags, 3),
                          "false_alarms": round(alarms / healthy, 3)})
    for row in table:
        print(json.dumps(row))
    ok = [t for t in table if t["false_alarms"] <= TARGET_FALSE_ALARMS]
    best = max(ok or table, key=lambda t: (t["recall"], -t["false_alarms"]))
    print(f"best at false alarms <= {TARGET_FALSE_ALARMS}: {json.dumps(best)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
