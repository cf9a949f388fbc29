import json, sys, re
from benchmarks.spoken import Voice, voiced, hear
from pipeline.audio.second_pass import SecondPassOptions
from pipeline.retrieval.bank import load_bank
from pipeline.audio.transcriber import Transcriber
role = sys.argv[1]; out = sys.argv[2]
VOICES = (Voice("en-gb-x-gbclan", 190), Voice("en-us+m1", 210), Voice("en+f4", 160))
bank = load_bank(role)
items = []
for c in bank.compliance:
    items += [(t, "example", c.id) for t in c.examples]
    items += [(t, "negative", c.id) for t in c.negative_examples]
    if c.alternative:
        items.append((c.alternative, "negative", c.id))
tr = Transcriber(); tr.warm_up()
rows = []
for i, (text, field, cid) in enumerate(items):
    for v in VOICES:
        h = hear(voiced(text, v), tr, second_pass=SecondPassOptions(enabled=False))
        rows.append({"said": text, "field": field, "id": cid, "voice": v.label, "first": h.first, "settled": h.settled})
    if i % 20 == 0:
        print(i, len(items), rows[-1], flush=True)
json.dump(rows, open(out, "w"), indent=1)
