"""Red-flag F1 and clean false alarms for backend tuning sets; optional threshold sweep; list fired clean rows."""
import sys; sys.path.insert(0, __import__("os").path.dirname(__import__("os").path.abspath(__file__))); import patch  # noqa
import sys, time
from pathlib import Path
from pipeline.bench.matcher_eval import read_tsv, evaluate
from pipeline.retrieval.matcher import decide
from pipeline.interview import build_interview_step

args = sys.argv[1:]
show = "--show" in args
sweep = "--sweep" in args
stage = build_interview_step("backend-engineer")
m, bank = stage.matcher, stage.bank
th = m.thresholds
T = Path("benchmarks/data/tuning")
new = read_tsv(T / "backend-engineer-clean.tsv")
h = len(new) // 2
sets = {"new-tune(1-65)": new[:h], "new-check(66-)": new[h:], "old-tuning": read_tsv(T / "backend-engineer.tsv")}
scored = {k: [m.scores(r.text, r.speaker) for r in rows] for k, rows in sets.items()}
ths = [th.red_flag] + ([0.56, 0.60, 0.62, 0.64, 0.66, 0.68, 0.70, 0.72, 0.75] if sweep else [])
for t in ths:
    tt = th.model_copy(update={"red_flag": t})
    line = [f"rf={t:.2f}"]
    for k, rows in sets.items():
        rep = evaluate(rows, scored[k], bank, tt)["red_flags"]
        nfa = round(rep["false_alarms_on_none"] * rep["none_support"])
        line.append(f"{k}: F1 {rep['macro_f1']:.3f} FA {rep['false_alarms_on_none']:.3f} ({nfa}/{rep['none_support']})")
    print(" | ".join(line))
if show:
    for k, rows in sets.items():
        if k == "old-tuning" and "--old" not in args:
            continue
        print("==", k)
        for r, s in zip(rows, scored[k]):
            res = decide(r.text, r.speaker, s, th)
            got = [f"{x.id}:{x.score:.2f}" for x in res.red_flags]
            top = res.red_flags[0].id if res.red_flags else "none"
            if (r.label == "none" and got) or (r.label != "none" and top != r.label):
                print(f"  [{r.label}] -> {got or 'none'} :: {r.text}")
