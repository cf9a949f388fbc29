"""Matcher quality on labelled utterances: per-label precision/recall/F1, and threshold calibration.

    python -m benchmarks.matcher_eval                  # report both sets with the bank's thresholds
    python -m benchmarks.matcher_eval --calibrate      # sweep thresholds on the calibration set only
    python -m benchmarks.matcher_eval --json out.json

Two sets, kept apart: `benchmarks/data/calibration_utterances.tsv` is what thresholds are
tuned on; `benchmarks/data/heldout_utterances.tsv` (a copy of ../shared/eval/dev_utterances.tsv)
is only measured, so its figures say how the matcher does on sentences it was not fitted to.

Utterance files are TSV with columns speaker, label, text.
Labels: a red-flag id (candidate), a competency or compliance id (interviewer), or `none`.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
from dataclasses import dataclass
from pathlib import Path

from benchmarks import DATA
from pipeline.retrieval import DEFAULT_ROLE
from pipeline.retrieval.matcher import decide
from pipeline.retrieval.schema import Thresholds

# Thresholds are calibrated on the first set only; the second is held out: reported, never tuned on.
CALIBRATION_SET = DATA / "calibration_utterances.tsv"
HELDOUT_SET = DATA / "heldout_utterances.tsv"


@dataclass
class Row:
    speaker: str
    label: str
    text: str
    question: str = ""  # test v3 on: the interviewer question a candidate row answers


def read_tsv(path: Path) -> list[Row]:
    with open(path, newline="", encoding="utf-8") as f:
        return [Row(r["speaker"], r["label"], r["text"], r.get("question") or "")
                for r in csv.DictReader(f, delimiter="\t")]


def prf(tp: int, fp: int, fn: int) -> dict:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 3), "recall": round(r, 3), "f1": round(f, 3), "support": tp + fn}


def evaluate(rows: list[Row], scored: list, bank, thresholds: Thresholds) -> dict:
    """scored[i] is the matcher's raw scores for rows[i] (see Matcher.scores)."""
    flags = [rf.id for rf in bank.red_flags]
    alerts = [c.id for c in bank.compliance]
    competencies = {c.id for c in bank.role.competencies}
    results = [decide(r.text, r.speaker, s, thresholds) for r, s in zip(rows, scored)]

    cand = [(r, m) for r, m in zip(rows, results) if r.speaker == "candidate"]
    per_flag = {}
    for flag in flags:
        tp = sum(1 for r, m in cand if r.label == flag and flag in [h.id for h in m.red_flags[:1]])
        fp = sum(1 for r, m in cand if r.label != flag and flag in [h.id for h in m.red_flags[:1]])
        fn = sum(1 for r, m in cand if r.label == flag and flag not in [h.id for h in m.red_flags[:1]])
        per_flag[flag] = prf(tp, fp, fn)
    cand_none = [m for r, m in cand if r.label == "none"]
    flag_false_alarm = sum(1 for m in cand_none if m.red_flags) / max(1, len(cand_none))

    inter = [(r, m) for r, m in zip(rows, results) if r.speaker == "interviewer"]
    per_alert = {}
    for alert in alerts:
        tp = sum(1 for r, m in inter if r.label == alert and alert in [h.id for h in m.compliance])
        fp = sum(1 for r, m in inter if r.label != alert and alert in [h.id for h in m.compliance])
        fn = sum(1 for r, m in inter if r.label == alert and alert not in [h.id for h in m.compliance])
        per_alert[alert] = prf(tp, fp, fn)
    compliance_rows = [(r, m) for r, m in inter if r.label in alerts]
    compliance_recall = sum(1 for r, m in compliance_rows if r.label in [h.id for h in m.compliance]) / max(
        1, len(compliance_rows))
    clean = [m for r, m in inter if r.label not in alerts]
    compliance_false_alarm = sum(1 for m in clean if m.compliance) / max(1, len(clean))

    question_rows = [(r, m) for r, m in inter if r.label in competencies]
    per_competency: dict[str, list[int]] = {}
    for r, m in question_rows:
        ok = bool(m.questions) and r.label in bank.question(m.questions[0].id).competencies
        per_competency.setdefault(r.label, []).append(int(ok))
    question_acc = sum(sum(v) for v in per_competency.values()) / max(1, len(question_rows))
    inter_none = [m for r, m in inter if r.label == "none"]
    question_false = sum(1 for m in inter_none if m.questions or m.compliance) / max(1, len(inter_none))
    return {
        "red_flags": {
            "macro_f1": round(sum(v["f1"] for v in per_flag.values()) / len(per_flag), 3),
            "false_alarms_on_none": round(flag_false_alarm, 3),
            "none_support": len(cand_none),
            "per_label": per_flag,
        },
        "compliance": {
            "recall": round(compliance_recall, 3),
            "false_alarms": round(compliance_false_alarm, 3),
            "false_alarm_support": len(clean),
            "per_label": per_alert,
        },
        "questions": {
            "right_competency": round(question_acc, 3),
            "support": len(question_rows),
            "per_competency": {c: {"accuracy": round(sum(v) / len(v), 3), "support": len(v)}
                               for c, v in sorted(per_competency.items())},
            "matched_on_small_talk": round(question_false, 3),
        },
    }


def targets_met(report: dict) -> dict[str, bool]:
    return {
        "red_flag_macro_f1>=0.85": report["red_flags"]["macro_f1"] >= 0.85,
        "red_flag_false_alarms<=0.05": report["red_flags"]["false_alarms_on_none"] <= 0.05,
        "compliance_recall>=0.95": report["compliance"]["recall"] >= 0.95,
        "compliance_false_alarms<=0.02": report["compliance"]["false_alarms"] <= 0.02,
        "questions_right_competency>=0.85": report["questions"]["right_competency"] >= 0.85,
    }


def print_report(name: str, report: dict) -> None:
    rf, co, qu = report["red_flags"], report["compliance"], report["questions"]
    print(f"== {name}")
    print(f"red flags: macro-F1 {rf['macro_f1']:.3f}, false alarms on none {rf['false_alarms_on_none']:.1%}"
          f" (of {rf['none_support']})")
    for label, v in rf["per_label"].items():
        print(f"   {label:<24} P {v['precision']:.2f} R {v['recall']:.2f} F1 {v['f1']:.2f} (n={v['support']})")
    print(f"compliance: recall {co['recall']:.3f}, false alarms {co['false_alarms']:.1%} (of {co['false_alarm_support']})")
    for label, v in co["per_label"].items():
        print(f"   {label:<24} P {v['precision']:.2f} R {v['recall']:.2f} F1 {v['f1']:.2f} (n={v['support']})")
    print(f"questions: right competency {qu['right_competency']:.1%} (n={qu['support']}), "
          f"matched on small talk {qu['matched_on_small_talk']:.1%}")
    for label, v in qu["per_competency"].items():
        print(f"   {label:<24} {v['accuracy']:.2f} (n={v['support']})")
    for target, ok in targets_met(report).items():
        print(f"   {'PASS' if ok else 'FAIL'} {target}")


def calibrate(sets: list[tuple[list[Row], list]], bank, base: Thresholds) -> Thresholds:
    """Grid search: meet every target on every set if possible, then maximise the summed slack."""
    grid = [round(0.30 + 0.04 * i, 2) for i in range(16)]
    margins = [-0.05, 0.0, 0.05]
    best, best_key = base, None
    for q, rf, co, mg in itertools.product(grid, grid, grid, margins):
        th = Thresholds(question=q, red_flag=rf, compliance=co, margin=mg)
        reports = [evaluate(rows, scored, bank, th) for rows, scored in sets]
        met = sum(sum(targets_met(r).values()) for r in reports)
        score = sum(r["red_flags"]["macro_f1"] - r["red_flags"]["false_alarms_on_none"]
                    + r["compliance"]["recall"] - 2 * r["compliance"]["false_alarms"]
                    + r["questions"]["right_competency"] - r["questions"]["matched_on_small_talk"]
                    for r in reports)
        key = (met, round(score, 4), -abs(mg))
        if best_key is None or key > best_key:
            best, best_key = th, key
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--role", default=DEFAULT_ROLE)
    ap.add_argument("--calibration", "--own", type=Path, default=CALIBRATION_SET,
                    help="labelled utterances that --calibrate tunes the thresholds on")
    ap.add_argument("--heldout", "--dev", type=Path, default=HELDOUT_SET,
                    help="labelled utterances that are only reported, never tuned on")
    ap.add_argument("--calibrate", action="store_true", help="sweep thresholds on the calibration set; print the best")
    ap.add_argument("--json", type=Path, help="write the report here")
    args = ap.parse_args()

    from pipeline.interview import build_interview_step

    step = build_interview_step(args.role)
    matcher, bank = step.matcher, step.bank
    sets = []
    for name, path in (("calibration", args.calibration), ("heldout", args.heldout)):
        if path.exists():
            rows = read_tsv(path)
            sets.append((name, rows, [matcher.scores(r.text, r.speaker) for r in rows]))
    thresholds = matcher.thresholds
    if args.calibrate:
        thresholds = calibrate([(rows, scored) for name, rows, scored in sets if name == "calibration"], bank,
                               thresholds)
        print(f"calibrated thresholds: {thresholds.model_dump()}")
    out = {"thresholds": thresholds.model_dump()}
    for name, rows, scored in sets:
        report = evaluate(rows, scored, bank, thresholds)
        report["targets_met"] = targets_met(report)
        print_report(f"{name} ({len(rows)} utterances)", report)
        out[name] = report
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
