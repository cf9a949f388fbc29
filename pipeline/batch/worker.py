"""One worker of a batch: Whisper and the interview step loaded once, then file after file.

`Worker.process` is `s2q replay --fast --record` for one file (the same `FileSource`, `engine_for`
mode and `run_session`) with models already loaded; it returns the record's text and the
report instead of writing them, so the pool and Ray share it and only the driver writes.
"""

from __future__ import annotations

import os
import socket
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from pipeline.audio.sources import FileSource
from pipeline.audio.transcriber import Transcriber
from pipeline.batch.jobs import Job, Outcome
from pipeline.errors import S2QError
from pipeline.events import UNKNOWN, SessionStartEvent
from pipeline.session.build import engine_for, voice_labeler
from pipeline.session.config import SessionConfig
from pipeline.session.run import run_session
from pipeline.sinks import JsonlSink


@dataclass
class BatchSessionStart(SessionStartEvent):
    """`session_start` with who the manifest says was interviewing, for `s2q summary`."""

    interviewer: str | None = None
    candidate_id: str | None = None


def threads_per_worker(workers: int, cores: int | None = None) -> int:
    """CTranslate2 threads per worker so that workers x threads <= cores."""
    return max(1, (cores or os.cpu_count() or 1) // max(1, workers))


def limit_threads(threads: int) -> None:
    """No worker oversubscribes the cores, and every backend runs the same thread count.

    The count matters for results too: numpy's BLAS computes Whisper's mel features, and a
    different number of BLAS threads sums in a different order, which was seen to flip a word
    ("built" / "build"). Ray sets OMP_NUM_THREADS for its actors before numpy loads; a pool
    worker has loaded numpy by now, hence threadpoolctl for the libraries already loaded.
    """
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # scikit-learn brings it; without it only the variables apply
        return
    threadpool_limits(threads)


class Worker:
    """Holds one Transcriber and, per role, one interview step (index and embedder loaded once)."""

    def __init__(self, config: SessionConfig, index_cache: Path | None = None) -> None:
        self.config = config
        self.index_cache = index_cache
        self._steps: dict[tuple[str, str | None], object] = {}
        self._voices = None  # the first mixed file's voice labeler (its model is reused), or False
        self.step(config.role)  # a bank error fails the worker before Whisper loads
        self.transcriber = Transcriber(config.transcriber)
        self.transcriber.warm_up()
        self.name = f"{socket.gethostname()}:{os.getpid()}"

    def step(self, role: str):
        """This role's interview step, loaded on first use; a fresh advisor for every interview."""
        from pipeline.interview import build_interview_step  # lazy: keeps pydantic off start-up

        key = (role, str(self.config.bank_root) if self.config.bank_root else None)
        if key not in self._steps:
            self._steps[key] = build_interview_step(role, self.config.bank_root, self.index_cache)
        return self._steps[key].fresh()

    def voices(self, step):
        """For a mixed file: a fresh voice labeler (the voice model loaded once); None when the
        voice model is not installed (the step names speakers, as `replay` does)."""
        if self._voices is None:
            self._voices = voice_labeler(step) or False
        return self._voices.fresh(step) if self._voices else None

    def process(self, job: Job) -> Outcome:
        """The record and report for one file, or its error as one line: never raises for a bad file."""
        t0 = time.perf_counter()
        try:
            outcome = self._process(job)
        except S2QError as exc:
            outcome = Outcome(job.name, error=str(exc))
        except Exception as exc:  # noqa: BLE001 - one bad file must not end the batch
            outcome = Outcome(job.name, error=f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}")
        outcome.elapsed_s = time.perf_counter() - t0
        outcome.worker = self.name
        return outcome

    def _process(self, job: Job) -> Outcome:
        from pipeline.report import load_session, render_report  # lazy: keeps pydantic off start-up

        step = self.step(job.role)
        config = replace(self.config, role=job.role, channels=list(job.channels))
        source = FileSource(job.path, speakers=config.channels, realtime=False)
        voices = self.voices(step) if UNKNOWN in config.channels else None
        engine = engine_for(config, "fast", [source], self.transcriber, step, voices)  # = replay --fast
        plain = SessionStartEvent.new(role=job.role, source=job.path.name)
        start = BatchSessionStart(**plain.__dict__, interviewer=job.interviewer, candidate_id=job.candidate_id)
        with tempfile.TemporaryDirectory(prefix="s2q-batch-") as tmp:
            path = Path(tmp) / f"{job.name}.jsonl"
            problems: list[str] = []
            run_session(engine, [JsonlSink(path=path, on_failure=problems.append)], start)
            if problems:
                return Outcome(job.name, error=problems[0])
            session = load_session(path)
            report = render_report(session, step.bank)
            record = path.read_text(encoding="utf-8")
        return Outcome(job.name, record=record, report=report, audio_s=source.duration)


# -- the local process pool: one Worker per process, built by the pool's initializer ----------

_worker: Worker | None = None
_startup_error: str | None = None


def init_pool_worker(config: SessionConfig, threads: int) -> None:
    """Runs once in each pool process: loads the models it will use for every file."""
    global _worker, _startup_error
    limit_threads(threads)
    try:
        _worker = Worker(config)
    except Exception as exc:  # noqa: BLE001 - reported per job, as one line
        _startup_error = f"worker failed to start: {' '.join(str(exc).split())[:300]}"


def run_pool_job(job: Job) -> Outcome:
    if _worker is None:
        return Outcome(job.name, error=_startup_error or "worker not started")
    return _worker.process(job)
