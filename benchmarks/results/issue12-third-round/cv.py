"""bank-test red-flag recall / negatives firing over several CV seeds (noise of the fold assignment)."""
import sys, functools
sys.path.insert(0, __import__("os").path.dirname(__import__("os").path.abspath(__file__))); import patch  # noqa
from pathlib import Path
from pipeline.authoring import heldout
from pipeline.authoring.workbench import workbenches
orig = heldout.held_out_probabilities
wb = next(workbenches([Path("pipeline/question_bank/backend-engineer")]))
n = int(sys.argv[1]) if len(sys.argv) > 1 else 5
rec, neg = [], []
for seed in range(n):
    heldout.held_out_probabilities = functools.partial(orig, seed=seed)
    r = heldout.check_examples(wb, 5)
    g = "red flag examples"
    rec.append(1 - r.missed(g) / r.checked[g]); neg.append(r.missed("negative examples") / r.checked["negative examples"])
print("seeds", n, "rf recall", [round(x, 3) for x in rec], "mean %.3f" % (sum(rec) / n),
      "| negatives firing mean %.3f" % (sum(neg) / n))
