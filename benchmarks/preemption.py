"""Does a final that needs decoding wait for a running second pass? (issue 25)

The second pass decodes on a twin model whose native threads run at the OS's idle priority
(`Transcriber.twin`), so the first pass should take the CPU the moment it needs it. Measured
here: the first-pass decode of an 8 s utterance of the demo, alone, then while the twin decodes
an 18 s utterance again and again (beam 5, 30 s window: the second pass at work), then while a
normal-priority model does the same (what the idle priority saves), then alone again.

    python benchmarks/preemption.py [--repeats 8] [--json PATH]

A figure only means something on a quiet machine: the load is printed beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from pipeline.audio import SAMPLE_RATE
    from pipeline.audio.sources import decode_file
    from pipeline.audio.transcriber import Transcriber
    from pipeline.demo import DEMO
    from pipeline.events import Utterance

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=8)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    first = Transcriber()
    first.warm_up()
    candidate = decode_file(DEMO, 2)[1]
    short = candidate[20 * SAMPLE_RATE: 28 * SAMPLE_RATE]
    long = candidate[30 * SAMPLE_RATE: 48 * SAMPLE_RATE]

    def decode_ms() -> float:
        started = time.perf_counter()
        first.transcribe(Utterance(0, "candidate", 0.0, 8.0, short.copy()))
        return (time.perf_counter() - started) * 1000

    def beside(model) -> list[float]:
        stop = threading.Event()

        def busy() -> None:
            u = Utterance(1, "candidate", 0.0, 18.0, long.copy())
            while not stop.is_set():
                model.redecode(u, "", 5, False)

        worker = threading.Thread(target=busy)
        worker.start()
        time.sleep(1.0)
        try:
            return [decode_ms() for _ in range(args.repeats)]
        finally:
            stop.set()
            worker.join()

    result = {"load_1min_before": round(os.getloadavg()[0], 2)}
    result["alone_ms"] = [decode_ms() for _ in range(args.repeats)]
    result["beside_idle_twin_ms"] = beside(first.twin())
    result["beside_normal_model_ms"] = beside(Transcriber(first.opts))
    result["alone_again_ms"] = [decode_ms() for _ in range(args.repeats)]
    result["load_1min_after"] = round(os.getloadavg()[0], 2)
    for key in [k for k in result if k.endswith("_ms")]:
        values = result[key]
        result[key] = {"median": round(statistics.median(values), 1), "max": round(max(values), 1),
                       "all": [round(v, 1) for v in values]}
        print(f"{key:24s} median {result[key]['median']:7.1f} ms, max {result[key]['max']:7.1f} ms")
    print(f"load {result['load_1min_before']} -> {result['load_1min_after']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
