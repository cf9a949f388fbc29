"""`s2q bench`, the benchmark users run: latency per step, WER, the real-speech set, the hearing
levers, the paced demo.

Research harnesses live outside the wheel, in the `benchmarks` package at the repository root,
beside the budget, the data sets and the recorded results.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository (benchmarks need a checkout)
BENCHMARKS = ROOT / "benchmarks"
DATA = BENCHMARKS / "data"
