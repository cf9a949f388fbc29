"""Benchmarks: latency per stage, WER, the real-speech set (`s2q bench`), matcher quality, bank scale.

All harness code lives here; `benchmarks/` at the repository root holds only the budget, the
data sets and the recorded results.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository (benchmarks need a checkout)
BENCHMARKS = ROOT / "benchmarks"
DATA = BENCHMARKS / "data"
