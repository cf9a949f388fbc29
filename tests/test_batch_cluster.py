"""`s2q batch --ray`'s actor without Ray: it must load the index the driver packed, never build one,
and leave nothing behind. (The real `--ray local` run is in tests/test_batch.py, compared with the
pool, and in tests/test_privacy.py, traced, with its temp folder checked empty afterwards.)

The actor runs in a child process, as on a cluster: it limits the BLAS threads of the process it
runs in, which must not leak into the rest of the suite.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import SENTENCE_C, compose, silence, wer, write_wav

ROOT = Path(__file__).resolve().parents[1]
ACTOR = """
import json, os, pickle, sys
from pathlib import Path
from pipeline.batch.cluster import WorkerActor, pack_banks
from pipeline.batch.jobs import Job
from pipeline.session.config import SessionConfig

config = SessionConfig()
packed = pickle.loads(pickle.dumps(pack_banks(config, [config.role])))  # what ray.put carries: bytes
os.environ["XDG_CACHE_HOME"] = sys.argv[2]  # empty: an actor that looked for an index here would build one
actor = WorkerActor(config, packed, 1)
outcome = actor.process(Job(Path(sys.argv[1]), "answer", config.role, ["candidate"]))
result = {"rebuilt": actor.rebuilt(), "root": str(actor.root), "error": outcome.error, "record": outcome.record,
          "index_files": sum(name.startswith("index/") for name in packed[config.role])}
actor.close()
print(json.dumps(result))
"""


def test_ray_actor_uses_the_drivers_index_and_leaves_nothing(tmp_path, workdir, tts, cli_env):
    clip = write_wav(workdir / "actor-answer.wav", compose([silence(0.4), SENTENCE_C, silence(0.8)], tts).audio)
    empty_cache, temp = tmp_path / "cache", tmp_path / "tmp"
    empty_cache.mkdir()
    temp.mkdir()
    env = dict(cli_env, PYTHONPATH=str(ROOT), TMPDIR=str(temp))
    proc = subprocess.run([sys.executable, "-c", ACTOR, str(clip), str(empty_cache)], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["index_files"] > 0, "the driver packed no index"
    assert result["rebuilt"] is False, "the actor built the bank's index instead of loading the driver's"
    assert not (empty_cache / "s2q" / "index").exists(), sorted(p.name for p in empty_cache.rglob("*"))
    assert result["root"].startswith(str(temp)) and not Path(result["root"]).exists(), "the actor's folder is left"
    assert list(temp.iterdir()) == [], list(temp.iterdir())
    assert result["error"] is None
    said = [json.loads(line) for line in result["record"].splitlines()]
    lines = {e["utterance_id"]: e["text"] for e in said if e["type"] == "transcript" and e["final"]}  # revised in place
    text = " ".join(lines.values())
    assert wer(SENTENCE_C, text) <= 0.15, text
