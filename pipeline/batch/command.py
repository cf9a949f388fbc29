"""`s2q batch`: the driver. Plans the jobs, skips what is done, hands the rest to a process pool
(or to Ray with `--ray`), and writes each result as it comes back, with a progress bar on stderr.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from pipeline.batch.jobs import (
    BatchIndex,
    Job,
    Outcome,
    is_done,
    plan,
    prepare_out,
    save_outcome,
)
from pipeline.audio.transcriber import TranscriberOptions
from pipeline.batch.cluster import ray_backend
from pipeline.batch.worker import init_pool_worker, run_pool_job, threads_per_worker
from pipeline.errors import S2QError
from pipeline.session.config import SessionConfig

# A backend takes the jobs and yields an Outcome per job, in any order, as they finish.
Backend = Callable[[list[Job]], Iterator[Outcome]]


def handle_batch(args) -> int:
    if args.workers is not None and args.workers < 1:
        raise S2QError("--workers must be 1 or more")
    jobs = plan(list(args.inputs), args.manifest, args.role, args.channels)
    check_banks(jobs, args.bank)
    config = SessionConfig(role=args.role, bank_root=args.bank, channels=args.channels,
                           transcriber=TranscriberOptions(model=args.model, device=args.device,
                                                          compute_type=args.compute_type, beam_size=args.beam_size,
                                                          language=args.language))
    if args.ray:
        backend = ray_backend(args.ray, config, jobs, args.workers)
    else:
        backend = pool_backend(config, args.workers or os.cpu_count() or 1)
    return run_batch(jobs, args.out, backend, force=args.force)


def check_banks(jobs: list[Job], bank_root: Path | None) -> None:
    """Every role the jobs need must load before any model does: a bank error is one line, now."""
    from pipeline.retrieval.bank import load_bank  # lazy: keeps pydantic off start-up

    for role in dict.fromkeys(j.role for j in jobs):
        load_bank(role, bank_root)


def pool_backend(config: SessionConfig, workers: int, threads: int | None = None) -> Backend:
    """Local: a process pool, one Worker (models loaded once) per process, workers x threads <= cores
    (`threads`: fixed per worker instead, for the benchmark's scaling curve)."""
    from dataclasses import replace

    def run(jobs: list[Job]) -> Iterator[Outcome]:
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        n = max(1, min(workers, len(jobs)))
        per_worker = threads or threads_per_worker(n)
        worker_config = replace(config, transcriber=replace(config.transcriber, cpu_threads=per_worker))
        # spawn, not fork: the driver has threads (the progress bar) that a fork would copy mid-lock.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(n, mp_context=context, initializer=init_pool_worker,
                                 initargs=(worker_config, per_worker)) as pool:
            pending = {pool.submit(run_pool_job, job): job for job in jobs}
            try:
                while pending:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        job = pending.pop(future)
                        try:
                            yield future.result()
                        except Exception as exc:  # noqa: BLE001 - a worker died (killed, out of memory)
                            yield Outcome(job.name, error=f"worker failed: {type(exc).__name__}: {exc}")
            finally:
                for future in pending:
                    future.cancel()

    return run


def run_batch(jobs: list[Job], out: Path, backend: Backend, force: bool = False,
              stderr=None) -> int:
    """Skips done jobs, runs the rest, writes each result; exit 1 when any file failed."""
    from rich.console import Console

    prepare_out(out)
    index = BatchIndex(out)
    todo = [j for j in jobs if force or not is_done(out, j.name)]
    skipped = len(jobs) - len(todo)
    console = Console(file=stderr or sys.stderr, highlight=False)
    if skipped:
        console.print(f"s2q: batch: {skipped} of {len(jobs)} files already done in {out} "
                      "(--force to redo them)", markup=False, soft_wrap=True)
    failed, done, audio_s = 0, 0, 0.0
    t0 = time.perf_counter()
    by_name = {j.name: j for j in todo}
    if todo:
        for outcome in _with_progress(console, todo, backend):
            job = by_name[outcome.name]
            if outcome.error is None:
                try:
                    save_outcome(out, outcome)
                except S2QError as exc:
                    outcome.error = str(exc)
            if outcome.error is not None:
                failed += 1
                where = "" if str(job.path) in outcome.error else f"{job.path}: "
                console.print(f"s2q: error: {where}{outcome.error}", markup=False, soft_wrap=True)
                index.update(job, "failed", outcome)
            else:
                done += 1
                audio_s += outcome.audio_s
                index.update(job, "done", outcome)
            index.save()
    wall = time.perf_counter() - t0
    speed = f", {audio_s / wall:.1f}x real time" if done and wall > 0 else ""
    console.print(f"s2q: batch: {done} done, {skipped} skipped, {failed} failed in {wall:.0f} s{speed}; "
                  f"records and reports in {out}", markup=False, soft_wrap=True)
    return 1 if failed else 0


def _with_progress(console, jobs: list[Job], backend: Backend) -> Iterable[Outcome]:
    """A bar weighted by file size (a fair stand-in for audio length), with files done and the ETA."""
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    sizes = {j.name: max(1, _size(j.path)) for j in jobs}
    columns = [TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[files]}"),
               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()]
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("batch", total=sum(sizes.values()), files=f"0/{len(jobs)} files")
        for n, outcome in enumerate(backend(jobs), start=1):
            progress.update(task, advance=sizes.get(outcome.name, 0), files=f"{n}/{len(jobs)} files")
            yield outcome


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
