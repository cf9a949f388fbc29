"""`s2q batch --ray`: the same `Worker` as the local pool, as Ray actors.

The driver loads (or builds) each role's bank index once and puts its files, with the bank's
YAML, in the object store; every actor unpacks them into a temp folder and loads from there, so
no node embeds the bank again or needs the driver's paths. One actor holds one Whisper model;
Ray's `ActorPool` hands out the files; outcomes come back to the driver, which writes them.
Ray stays optional (the `cluster` extra) and never phones home: usage stats off, no dashboard,
its logs in a temp folder.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from pipeline.batch.jobs import Job, Outcome
from pipeline.errors import S2QError
from pipeline.session.config import SessionConfig

RAY_MISSING = "--ray needs Ray, which is not installed: pip install 'speech-to-question[cluster]'"


# A private cluster stays on this computer (tests/test_privacy.py traces it). Without these, Ray
# 2.60 looks up its node address by connecting to 8.8.8.8, then serves its (unauthenticated)
# gRPC ports on every interface; and the one dashboard module it always starts, usage stats,
# probes the cloud metadata servers (169.254.169.254, a DNS look-up of metadata.google.internal)
# even with usage stats off. Loopback as the node address (what Ray does on macOS and Windows)
# keeps every port on 127.0.0.1; plain HTTP goes to a closed local port instead of out.
LOCAL_ONLY = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
              "http_proxy": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
              "no_proxy": "localhost,127.0.0.1,::1", "NO_PROXY": "localhost,127.0.0.1,::1"}


def import_ray(local: bool = False):
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"  # before Ray starts anything: no usage report
    if local:  # before `import ray`, which reads them, and the processes it starts, which inherit them
        os.environ.update(LOCAL_ONLY)
    os.environ.setdefault("RAY_DISABLE_IMPORT_WARNING", "1")
    try:
        import ray
    except ImportError:
        raise S2QError(RAY_MISSING) from None
    return ray


def pack_banks(config: SessionConfig, roles: list[str]) -> dict[str, dict[str, bytes]]:
    """Per role, its bank folder's files (`bank/...`) and its built index's files (`index/...`)."""
    from pipeline.retrieval.bank import load_bank, role_dir  # lazy: keeps pydantic off start-up
    from pipeline.retrieval.embedder import role_embedder  # lazy: keeps pydantic off start-up
    from pipeline.retrieval.index import BankIndex, default_cache_dir  # lazy: keeps pydantic off start-up

    embedder = None
    packed = {}
    for role in roles:
        folder = role_dir(role, config.bank_root)
        bank = load_bank(role, config.bank_root)
        embedder = role_embedder(bank.role, embedder).load()
        index = BankIndex.build(bank, embedder)  # loaded from the cache when built
        files = {f"bank/{role}/{p.relative_to(folder)}": p.read_bytes() for p in folder.rglob("*") if p.is_file()}
        cached = default_cache_dir() / index.key
        files.update({f"index/{index.key}/{p.name}": p.read_bytes() for p in cached.iterdir() if p.is_file()})
        packed[role] = files
    return packed


def unpack(packed: dict[str, dict[str, bytes]], root: Path) -> None:
    for files in packed.values():
        for name, data in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)


class WorkerActor:
    """One Ray actor: the shared bank and index unpacked locally, one `Worker` (one Whisper model)."""

    def __init__(self, config: SessionConfig, packed: dict, threads: int) -> None:
        from pipeline.batch.worker import Worker, limit_threads

        limit_threads(threads)
        self.root = Path(tempfile.mkdtemp(prefix="s2q-actor-"))
        unpack(packed, self.root)
        local = replace(config, bank_root=self.root / "bank",
                        transcriber=replace(config.transcriber, cpu_threads=threads))
        self.worker = Worker(local, index_cache=self.root / "index")

    def process(self, job: Job) -> Outcome:
        return self.worker.process(job)

    def rebuilt(self) -> bool:
        """Whether any stage had to build its index (it should load the driver's)."""
        return any(s.matcher.index.rebuilt for s in self.worker._steps.values())

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def start_ray(ray, address: str, cpus: int | None) -> Path | None:
    """`local`: a private cluster here (temp folder returned, to remove after); else connect."""
    options = dict(logging_level=logging.ERROR, log_to_driver=False, configure_logging=True)
    try:
        if address == "local":
            temp = Path(tempfile.mkdtemp(prefix="s2q-ray-"))
            ray.init(num_cpus=cpus or os.cpu_count() or 1, include_dashboard=False, _temp_dir=str(temp),
                     **options)
            return temp
        ray.init(address=None if address == "auto" else address, **options)
    except Exception as exc:  # noqa: BLE001 - Ray raises ConnectionError, RuntimeError, ValueError...
        raise S2QError(f"cannot start Ray ({address}): {' '.join(str(exc).split())[:300]}") from None
    return None


def ray_backend(address: str, config: SessionConfig, jobs: list[Job], workers: int | None):
    """A batch backend (see `command.Backend`) on Ray; checks Ray is importable now."""
    ray = import_ray(local=address == "local")

    def run(todo: list[Job]) -> Iterator[Outcome]:
        from ray.util.actor_pool import ActorPool

        temp = start_ray(ray, address, workers)
        try:
            cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
            n = max(1, min(workers or cpus, len(todo)))
            threads = max(1, cpus // n)
            shared = ray.put(pack_banks(config, list(dict.fromkeys(j.role for j in todo))))
            actor = ray.remote(num_cpus=threads)(WorkerActor)
            actors = [actor.remote(config, shared, threads) for _ in range(n)]
            pool = ActorPool(actors)
            for outcome in pool.map_unordered(lambda a, job: a.process.remote(job), todo):
                yield outcome
            ray.get([a.close.remote() for a in actors])
        except S2QError:
            raise
        except Exception as exc:  # noqa: BLE001 - an actor that cannot start fails every file alike
            if type(exc).__module__.startswith("ray"):
                raise S2QError(f"Ray: {' '.join(str(exc).split())[:300]}") from None
            raise
        finally:
            ray.shutdown()
            if temp is not None:
                shutil.rmtree(temp, ignore_errors=True)

    return run
