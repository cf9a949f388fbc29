"""Research harnesses: measurements behind benchmarks/results/, run from a checkout, not shipped.

    python -m benchmarks.speakers      # and the others: see the README's benchmark list

They build the engine the way the product does (`pipeline.session.build.engine_for`). `s2q bench`
(the user-facing benchmark) stays in the package, in pipeline/bench/.
"""

from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"  # the labelled sets, their voiced transcripts and the suggestion interviews
RESULTS = HERE / "results"  # what each harness writes, beside the tables in README.md
