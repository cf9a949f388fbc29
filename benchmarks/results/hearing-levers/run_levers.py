"""Lean side-by-side lever run: `python run_levers.py OUT GROUPS LEVERS` (same code as `s2q bench --levers`)."""
import json, sys
from pathlib import Path
from rich.console import Console
from pipeline.audio.hotwords import role_hotwords
from pipeline.audio.transcriber import Transcriber
from pipeline.bench.levers import compare, long_turn, markdown
from pipeline.bench.inputs import Input, default_inputs
out, groups, only = Path(sys.argv[1]), sys.argv[2].split(","), sys.argv[3].split(",")
inputs, _ = default_inputs("real_speech" in groups)  # the Asterisk set only when asked for
inputs = [x for x in inputs if x.group in groups]
if "long_turn" in groups:
    p, t = long_turn(); inputs.append(Input(p, ["candidate"], t, "long_turn"))
tr = Transcriber(); tr.warm_up()
c = Console(highlight=False)
r = compare(inputs, tr, role_hotwords("ml-engineer"), c, only)
out.mkdir(parents=True, exist_ok=True)
(out / "levers.json").write_text(json.dumps(r, indent=2) + "\n"); (out / "levers.md").write_text(markdown(r))
print(markdown(r), flush=True)
