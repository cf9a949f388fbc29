import json, sys
from pipeline.audio.transcriber import Transcriber, TranscriberOptions
from pipeline.bench.paced import paced_run
from pipeline.interview import build_interview_step
stage = build_interview_step()
out = []
trs = {th: Transcriber(TranscriberOptions(cpu_threads=th)) for th in (0, 1)}
for t in trs.values(): t.warm_up()
for th in (0, 1, 1, 0):
    r = paced_run(trs[th], stage.fresh(), second_pass=True)
    r["cpu_threads"] = th
    out.append(r); print(json.dumps(r), flush=True)
json.dump(out, open(sys.argv[1], "w"), indent=1)
