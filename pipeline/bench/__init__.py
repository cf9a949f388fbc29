"""Benchmarks: latency per stage, WER, the real-speech set (`s2q bench`)."""
