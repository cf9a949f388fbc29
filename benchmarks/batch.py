"""`python -m benchmarks.batch`: batch throughput, pool vs Ray, and `s2q summary` at scale.

Runs the real `s2q batch` code (plan, backends, driver) in this process over copies of the
bundled demo interview: one worker, two workers, and two Ray actors on a local cluster; then
`s2q summary`'s collection and rendering over 1,000 records made from one real record.
Targets (issue 14): 2 workers >= 1.8x one; Ray's overhead per file <= 10%; summary <= 10 s.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

from pipeline.demo import DEMO

RESULTS = Path(__file__).resolve().parent / "results" / "batch.json"


def run_one(label: str, files: list[Path], out: Path, workers: int, ray: bool, threads: int | None = None) -> dict:
    from pipeline.batch.command import pool_backend, run_batch
    from pipeline.batch.jobs import plan
    from pipeline.session.config import SessionConfig

    config = SessionConfig(channels=["interviewer", "candidate"])
    jobs = plan(files, None, config.role, config.channels)
    if ray:
        from pipeline.batch.cluster import ray_backend

        backend = ray_backend("local", config, jobs, workers)
    else:
        backend = pool_backend(config, workers, threads)
    t0 = time.perf_counter()
    status = run_batch(jobs, out, backend, force=True, stderr=io.StringIO())
    wall = time.perf_counter() - t0
    done = json.loads((out / "batch.json").read_text())["files"].values()
    audio = sum(f["audio_s"] for f in done)
    busy = sum(f["elapsed_s"] for f in done)
    return {"label": label, "workers": workers, "ray": ray, "files": len(files), "failed": status != 0,
            "wall_s": round(wall, 2), "audio_s": round(audio, 1), "files_per_min": round(60 * len(files) / wall, 2),
            "rtf_per_worker": round(busy / audio, 4) if audio else None,
            "mean_file_s": round(busy / len(files), 2)}


def summary_at_scale(record: Path, n: int, folder: Path) -> dict:
    """n records made from one real one (interviewers varied), then collect + render as `s2q summary` does."""
    from pipeline.batch.summary import collect, load_banks
    from pipeline.batch.summary_render import render

    lines = record.read_text(encoding="utf-8").splitlines()
    start = json.loads(lines[0])
    for i in range(n):
        start["interviewer"], start["id"] = f"Interviewer {i % 12}", f"{i:08x}"
        (folder / f"rec-{i:04d}.jsonl").write_text("\n".join([json.dumps(start)] + lines[1:]) + "\n")
    t0 = time.perf_counter()
    team = collect(folder)
    text, _ = render(team, load_banks(team, None, None), folder / "summary.md")
    seconds = time.perf_counter() - t0
    return {"records": n, "lines_per_record": len(lines), "seconds": round(seconds, 2), "chars": len(text)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=4, help="copies of the demo interview (193 s each)")
    parser.add_argument("--records", type=int, default=1000, help="records for the summary benchmark")
    parser.add_argument("--no-ray", action="store_true")
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory(prefix="s2q-bench-batch-") as tmp:
        tmp = Path(tmp)
        files = []
        for i in range(args.copies):
            files.append(tmp / "in" / f"demo-{i + 1}.ogg")
            files[-1].parent.mkdir(exist_ok=True)
            shutil.copy(DEMO, files[-1])
        # 1 worker x 1 thread is the unit of the scaling curve; 1 worker x all cores is the default.
        runs = [run_one("pool, 1 worker x 1 thr", files, tmp / "w1", 1, False, threads=1),
                run_one("pool, 2 workers x 1 thr", files, tmp / "w2", 2, False)]
        if (os.cpu_count() or 1) > 1:
            runs.append(run_one(f"pool, 1 worker x {os.cpu_count()} thr", files, tmp / "w1t", 1, False))
        if not args.no_ray:
            runs.append(run_one("ray local, 2 actors", files, tmp / "ray", 2, True))
        (tmp / "many").mkdir()
        summary = summary_at_scale(tmp / "w2" / "demo-1.jsonl", args.records, tmp / "many")
    one, two = runs[0], runs[1]
    result = {"machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores",
              "note": "one run on a shared, noisy machine", "runs": runs,
              "speedup_2_workers": round(one["wall_s"] / two["wall_s"], 2), "summary": summary}
    if runs[-1]["ray"]:
        ray = runs[-1]
        result["ray_overhead_wall"] = round(ray["wall_s"] / two["wall_s"] - 1, 3)
        result["ray_overhead_per_file"] = round(ray["mean_file_s"] / two["mean_file_s"] - 1, 3)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(f"{'run':26} {'files':>5} {'wall s':>7} {'files/min':>9} {'RTF/worker':>10} {'s/file':>7}")
    for r in runs:
        print(f"{r['label']:26} {r['files']:5d} {r['wall_s']:7.1f} {r['files_per_min']:9.2f} "
              f"{r['rtf_per_worker']:10.3f} {r['mean_file_s']:7.1f}")
    print(f"speed-up with 2 workers: {result['speedup_2_workers']:.2f}x (target >= 1.8x)")
    if "ray_overhead_wall" in result:
        print(f"Ray vs pool: wall {result['ray_overhead_wall']:+.1%} (includes starting the cluster), "
              f"per file {result['ray_overhead_per_file']:+.1%} (target <= 10%)")
    print(f"s2q summary over {summary['records']} records: {summary['seconds']:.2f} s (target <= 10 s)")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
