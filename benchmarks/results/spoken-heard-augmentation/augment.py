"""Append heard variants to a role's compliance.yaml (in a worktree): examples and negatives."""
import json, re, sys, yaml
import jiwer
root, role, heard_json, max_wer = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
rows = json.load(open(heard_json))
def norm(t): return " ".join(re.sub(r"[^a-z0-9' ]", " ", t.lower()).split())
path = f"{root}/pipeline/question_bank/{role}/compliance.yaml"
doc = yaml.safe_load(open(path))
by_id = {c["id"]: c for c in doc["compliance"]}
added = {"example": 0, "negative": 0}; dropped = 0
for r in rows:
    heard = " ".join(r["first"]).strip()
    if not heard or norm(heard) == norm(r["said"]):
        continue
    w = jiwer.wer(norm(r["said"]), norm(heard))
    if w > max_wer:
        dropped += 1; continue
    c = by_id[r["id"]]
    key = "examples" if r["field"] == "example" else "negative_examples"
    existing = {norm(t) for t in c.get(key, [])}
    if norm(heard) in existing: continue
    c.setdefault(key, []).append(heard); added[r["field"]] += 1
yaml.safe_dump(doc, open(path, "w"), sort_keys=False, allow_unicode=True, width=200)
print(added, "dropped", dropped)
