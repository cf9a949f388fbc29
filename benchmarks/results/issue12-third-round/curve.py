"""For the bank as it is now: per red_flag threshold, bank CV recall (mean of 5 seeds) and tuning-set F1/FA."""
import sys
sys.path.insert(0, __import__("os").path.dirname(__import__("os").path.abspath(__file__))); import patch  # noqa
from pathlib import Path
import numpy as np
from pipeline.authoring import heldout
from pipeline.authoring.workbench import workbenches
from pipeline.bench.matcher_eval import read_tsv, evaluate
from pipeline.interview import build_interview_step

TS = [0.56, 0.60, 0.62, 0.64, 0.66, 0.68, 0.70, 0.72]
wb = next(workbenches([Path("pipeline/question_bank/backend-engineer")]))
ph = wb.index.sides["candidate"].phrases
vec = wb.vectors("candidate")
cv = {t: [] for t in TS}
for seed in range(5):
    classes, probs = heldout.held_out_probabilities("red_flag", ph, vec, 5, seed)
    classes = np.array(classes); nz = classes != "none"
    top = classes[nz][probs[:, nz].argmax(1)]; sc = probs[:, nz].max(1)
    isrf = np.array([p.kind == "red_flag" for p in ph]); lab = np.array([p.entry_id for p in ph])
    for t in TS:
        cv[t].append(((top == lab) & (sc >= t) & isrf).sum() / isrf.sum())
stage = build_interview_step("backend-engineer"); m, bank = stage.matcher, stage.bank
T = Path("benchmarks/data/tuning"); new = read_tsv(T / "backend-engineer-clean.tsv"); h = len(new) // 2
sets = {"tune": new[:h], "check": new[h:], "old": read_tsv(T / "backend-engineer.tsv")}
scored = {k: [m.scores(r.text, r.speaker) for r in rows] for k, rows in sets.items()}
for t in TS:
    tt = m.thresholds.model_copy(update={"red_flag": t})
    out = [f"t={t:.2f} cvrec {np.mean(cv[t]):.3f}"]
    for k, rows in sets.items():
        rf = evaluate(rows, scored[k], bank, tt)["red_flags"]
        out.append(f"{k} F1 {rf['macro_f1']:.3f} FA {round(rf['false_alarms_on_none']*rf['none_support'])}/{rf['none_support']}")
    print(" | ".join(out))
