"""Question-bank scale: a generated 100,000-question bank builds and searches fast; a one-entry edit
of a 1,000-entry bank rebuilds its index quickly, re-embedding only what changed.

    python -m benchmarks.bank_scale                                 # the full run (see the JSON for timings)
    python -m benchmarks.bank_scale --questions 20000 --queries 200 # a quicker look
    python -m benchmarks.bank_scale --json benchmarks/results/bank_scale.json

Everything runs on the real path: YAML files written to a temporary role folder, `load_bank`
(parse + validate), `BankIndex.build` (embed with the bundled MiniLM through ONNX, FAISS, classifiers),
then queries. The generated banks reuse the ml-engineer role file, red flags, compliance alerts and
neutral lines, so the classifiers are trained as in a real role. Caches live in a temporary
XDG_CACHE_HOME (the ONNX export of the embedder is copied in when it already exists in yours).

Search is measured three ways, one query at a time as the listener sends them, with FAISS on one
thread and on all cores (its default):
- `faiss_k10_threads*`: the FAISS inner-product query alone, on a precomputed query vector, top 10;
- `embed_and_faiss_k10_threads*`: embedding the sentence and that query (`embed_only`: embedding alone);
- `matcher_scores`: `Matcher.scores(text, "interviewer")` as shipped (embedding excluded: its `search`
  timing), which asks FAISS for every row so that it sees the closest counter-example.
`faiss_k10_synthetic_rows` repeats the FAISS query on random unit vectors, for banks with several
phrasings per question (search cost depends on the number of rows, not on what they say).
`other_faiss_indexes` times compressed (fp16, 8-bit) and approximate (IVF, HNSW) indexes over the same
rows, one thread, with how often their best row is the exact (flat) one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from pipeline.bench.latency import percentiles
from pipeline.retrieval import DEFAULT_ROLE
from pipeline.retrieval.bank import BANK_ROOT
from pipeline.retrieval.embedder import DIMENSIONS

SOURCE_ROLE = BANK_ROOT / DEFAULT_ROLE

OPENERS = [
    "How would you", "Walk me through how you would", "What is your approach to", "Tell me how you would",
    "How do you usually", "What steps would you take to", "Describe how you would", "How might you",
    "What would you check before you", "Explain how your team would", "What is the hardest part when you",
    "How did you last", "Which tools would you use to", "What could go wrong when you", "How quickly could you",
    "Who would you involve to", "What trade-offs come up when you", "How would a junior engineer",
    "What would you automate to", "How would you convince your manager to",
]
ACTIONS = [
    "design", "test", "monitor", "debug", "scale", "document", "secure", "migrate", "review", "benchmark",
    "deploy", "roll back", "profile", "refactor", "cache", "shard", "retrain", "validate", "version", "audit",
    "load test", "simplify", "instrument", "back up", "decommission",
]
OBJECTS = [
    "a payment API", "a message queue consumer", "a feature store", "a fraud model", "a recommendation service",
    "a nightly batch job", "a search index", "a data warehouse table", "a mobile backend", "an auth service",
    "a streaming pipeline", "a pricing engine", "a churn model", "a logging stack", "a config service",
    "a customer database", "an image classifier", "a rate limiter", "a notification system", "a billing ledger",
    "a forecasting model", "a GraphQL gateway", "a CI pipeline", "a labelling tool", "an experiment platform",
    "a translation model", "an inventory service", "a chat backend", "a metrics dashboard", "a file upload service",
    "a ranking model", "a scheduler", "a cache layer", "a webhook dispatcher", "a reporting job",
    "a speech model", "an event store", "a checkout flow", "a data lake", "a model registry",
]
CONTEXTS = [
    "when traffic doubles overnight", "with a team of three", "under a strict latency budget",
    "after a bad outage", "before a big launch", "on a tight cloud budget", "across two regions",
    "while keeping old clients working", "with no downtime", "for a regulated customer",
]


def question_text(n: int) -> str:
    """The n-th generated question; consecutive n differ in every part (mixed radix, coprime strides)."""
    sizes = (len(OPENERS), len(ACTIONS), len(OBJECTS), len(CONTEXTS))
    total = 1
    for s in sizes:
        total *= s
    k = (n * 7919) % total  # 7919 is prime and coprime with the product: a permutation of all combinations
    parts = []
    for s in sizes:
        parts.append(k % s)
        k //= s
    o, a, b, c = parts
    return f"{OPENERS[o]} {ACTIONS[a]} {OBJECTS[b]} {CONTEXTS[c]}?"


def alternative_text(n: int, j: int) -> str:
    return question_text(n).rstrip("?") + [", roughly speaking?", ", in practice?", ", step by step?"][j % 3]


def write_bank(folder: Path, questions: int, alternatives: int, start: int = 0) -> Path:
    """A role folder with `questions` generated questions (YAML) plus the ml-engineer extras."""
    import yaml

    role = folder / "scale-role"
    (role / "questions").mkdir(parents=True)
    source = yaml.safe_load((SOURCE_ROLE / "role.yaml").read_text())
    source["id"] = "scale-role"
    (role / "role.yaml").write_text(yaml.safe_dump(source, sort_keys=False))
    for name in ("compliance.yaml", "neutral.yaml"):
        shutil.copy(SOURCE_ROLE / name, role / name)
    flags = yaml.safe_load((SOURCE_ROLE / "red_flags.yaml").read_text())
    for flag in flags["red_flags"]:
        flag["probes"] = []  # they name ml-engineer questions, which the generated bank does not have
    (role / "red_flags.yaml").write_text(yaml.safe_dump(flags, sort_keys=False))
    stages = [s["id"] for s in source["stages"]]
    competencies = [c["id"] for c in source["competencies"]]
    per_file = {s: [] for s in stages}
    for i in range(questions):
        n = start + i
        stage = stages[i % len(stages)]
        lines = [f"  - id: q{n:06d}", f"    text: {question_text(n)}", f"    stage: {stage}",
                 f"    competencies: [{competencies[i % len(competencies)]}]",
                 f"    difficulty: {('easy', 'medium', 'hard')[i % 3]}"]
        if alternatives:
            lines.append("    alternatives:")
            lines += [f"      - {alternative_text(n, j)}" for j in range(alternatives)]
        per_file[stage].append("\n".join(lines))
    for stage, entries in per_file.items():
        (role / "questions" / f"{stage}.yaml").write_text("questions:\n" + "\n".join(entries) + "\n")
    return role


def yaml_compose_times(role: Path) -> dict:
    """Parsing the question files as `load_bank` does (pure-Python PyYAML) and with libyaml, for comparison."""
    import yaml

    texts = [p.read_text() for p in sorted((role / "questions").glob("*.yaml"))]
    result = {}
    for name, loader in (("pure_python_SafeLoader", yaml.SafeLoader), ("libyaml_CSafeLoader", yaml.CSafeLoader)):
        t0 = time.perf_counter()
        for text in texts:
            yaml.compose(text, Loader=loader)
        result[name] = round(time.perf_counter() - t0, 2)
    return result


def timed(fn):
    t0 = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t0


def prepare_cache(cache_home: Path) -> None:
    """A fresh XDG cache; the embedder's ONNX export is copied from the user's cache when present."""
    os.environ["XDG_CACHE_HOME"] = str(cache_home)
    from platformdirs import user_cache_dir

    theirs = Path(os.path.expanduser("~/.cache")) / "s2q" / "onnx"
    ours = Path(user_cache_dir("s2q")) / "onnx"
    if theirs.exists() and theirs != ours:
        shutil.copytree(theirs, ours, dirs_exist_ok=True)


def big_bank(work: Path, questions: int, alternatives: int, queries: int, synthetic_rows: list[int]) -> dict:
    import faiss
    import numpy as np

    from pipeline.retrieval.bank import load_bank
    from pipeline.retrieval.embedder import Embedder
    from pipeline.retrieval.index import AlertClassifier, BankIndex
    from pipeline.retrieval.matcher import Matcher

    out: dict = {"questions": questions, "alternatives_per_question": alternatives}
    role, t = timed(lambda: write_bank(work / "big", questions, alternatives))
    out["write_yaml_s"] = round(t, 2)
    out["yaml_bytes"] = sum(p.stat().st_size for p in (role / "questions").glob("*.yaml"))
    bank, t = timed(lambda: load_bank(directory=role))
    out["load_and_validate_s"] = round(t, 2)
    out["yaml_compose_s"] = yaml_compose_times(role)
    embedder, t = timed(lambda: Embedder().load())
    out["embedder_load_s"] = round(t, 2)
    index, t = timed(lambda: BankIndex.build(bank, embedder))
    out["first_build_s"] = round(t, 2)
    out["phrases_embedded"] = index.embedded
    out["rows"] = {side: len(ix.phrases) for side, ix in index.sides.items()}
    side = index.sides["interviewer"]
    _, t = timed(lambda: AlertClassifier.train("compliance", side.phrases, side.vectors))
    out["of_which_compliance_classifier_training_s"] = round(t, 2)
    sample = [p.text for p in side.phrases[:2000]]
    _, t = timed(lambda: embedder.encode(sample))
    out["embedding_rate_per_s"] = round(len(sample) / t, 1)
    again, t = timed(lambda: BankIndex.build(load_bank(directory=role), embedder))
    assert again.rebuilt is False
    out["cached_load_s"] = round(t, 2)

    out["load_average_before_search"] = [round(x, 2) for x in os.getloadavg()]  # other work on the machine skews it
    # queries: new sentences in the bank's style but not in it (other numbers of the generator)
    texts = [question_text(questions + 10_000 + i).replace("?", ", do you think?") for i in range(queries)]
    vectors = embedder.encode(texts)
    search = {}
    for threads in sorted({1, faiss.omp_get_max_threads()}):
        faiss.omp_set_num_threads(threads)
        times = []
        for v in vectors:
            t0 = time.perf_counter()
            side.index.search(v[None, :], 10)
            times.append((time.perf_counter() - t0) * 1000)
        search[f"faiss_k10_threads{threads}"] = percentiles(times, digits=3)
    times = []
    for text in texts:
        t0 = time.perf_counter()
        embedder.encode([text])
        times.append((time.perf_counter() - t0) * 1000)
    search["embed_only"] = percentiles(times, digits=3)
    for threads in sorted({1, faiss.omp_get_max_threads()}):
        faiss.omp_set_num_threads(threads)
        times = []
        for text in texts:
            t0 = time.perf_counter()
            side.index.search(embedder.encode([text]), 10)
            times.append((time.perf_counter() - t0) * 1000)
        search[f"embed_and_faiss_k10_threads{threads}"] = percentiles(times, digits=3)
    faiss.omp_set_num_threads(faiss.omp_get_max_threads())
    matcher = Matcher(index, embedder)
    times = []
    for text in texts[: min(len(texts), 100)]:
        matcher.scores(text, "interviewer")
        times.append(matcher.timings_ms["search"])
    search["matcher_scores_search_part"] = percentiles(times, digits=3)
    rng = np.random.default_rng(0)
    for rows in synthetic_rows:
        data = rng.standard_normal((rows, DIMENSIONS)).astype(np.float32)
        data /= np.linalg.norm(data, axis=1, keepdims=True)
        flat = faiss.IndexFlatIP(DIMENSIONS)
        flat.add(data)
        del data
        times = []
        for v in vectors:
            t0 = time.perf_counter()
            flat.search(v[None, :], 10)
            times.append((time.perf_counter() - t0) * 1000)
        search[f"faiss_k10_synthetic_{rows}_rows"] = percentiles(times, digits=3)
        del flat
    out["search"] = search
    out["other_faiss_indexes"] = other_indexes(side.vectors, vectors)
    out["load_average_after_search"] = [round(x, 2) for x in os.getloadavg()]
    return out


def other_indexes(data, queries) -> dict:
    """Approximate and compressed FAISS indexes over the same rows: time per query and agreement with flat."""
    import faiss
    import numpy as np

    faiss.omp_set_num_threads(1)
    flat = faiss.IndexFlatIP(data.shape[1])
    flat.add(data)
    _, truth = flat.search(queries, 10)
    d = data.shape[1]
    ip = faiss.METRIC_INNER_PRODUCT
    makers = {
        "flat_fp16": lambda: faiss.IndexScalarQuantizer(d, faiss.ScalarQuantizer.QT_fp16, ip),
        "flat_sq8": lambda: faiss.IndexScalarQuantizer(d, faiss.ScalarQuantizer.QT_8bit, ip),
        "ivf1024_nprobe16": lambda: faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, 1024, ip),
        "hnsw32_ef64": lambda: faiss.IndexHNSWFlat(d, 32, ip),
    }
    results = {}
    for name, make in makers.items():
        t0 = time.perf_counter()
        index = make()
        faiss.omp_set_num_threads(faiss.omp_get_max_threads())  # building may use both cores
        if not index.is_trained:
            index.train(data)
        index.add(data)
        faiss.omp_set_num_threads(1)
        build_s = time.perf_counter() - t0
        if name.startswith("ivf"):
            index.nprobe = 16
        if name.startswith("hnsw"):
            index.hnsw.efSearch = 64
        times, found = [], []
        for q in queries:
            t0 = time.perf_counter()
            _, rows = index.search(q[None, :], 10)
            times.append((time.perf_counter() - t0) * 1000)
            found.append(rows[0])
        found = np.array(found)
        results[name] = {
            "build_s": round(build_s, 2),
            "search_threads1": percentiles(times, digits=3),
            "top1_same_as_flat": round(float(np.mean(found[:, 0] == truth[:, 0])), 3),
            "top10_overlap_with_flat": round(float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth)])), 3),
        }
    faiss.omp_set_num_threads(faiss.omp_get_max_threads())
    return results


def incremental(work: Path, questions: int, edits: int) -> dict:
    """A 1,000-entry bank built once; then one entry changed at a time, and the rebuild timed."""
    from pipeline.retrieval.bank import load_bank
    from pipeline.retrieval.embedder import Embedder
    from pipeline.retrieval.index import BankIndex

    role = write_bank(work / "small", questions, alternatives=3, start=500_000)
    embedder = Embedder().load()
    first, t = timed(lambda: BankIndex.build(load_bank(directory=role), embedder))
    out = {"questions": questions, "alternatives_per_question": 3, "first_build_s": round(t, 2),
           "first_build_embedded": first.embedded, "edits": []}
    files = sorted((role / "questions").glob("*.yaml"))
    rng = random.Random(0)
    for e in range(edits):
        path = files[e % len(files)]
        lines = path.read_text().split("\n")
        text_lines = [i for i, line in enumerate(lines) if line.startswith("    text: ")]
        i = rng.choice(text_lines)
        lines[i] = lines[i].rstrip("?") + f", edit {e}?"  # one entry's text changes: one phrase
        path.write_text("\n".join(lines))
        bank, t_load = timed(lambda: load_bank(directory=role))
        index, t_build = timed(lambda b=bank: BankIndex.build(b, embedder))
        out["edits"].append({"load_and_validate_s": round(t_load, 3), "build_s": round(t_build, 3),
                             "total_s": round(t_load + t_build, 3), "embedded": index.embedded,
                             "rebuilt": index.rebuilt})
    totals = [e["total_s"] for e in out["edits"]]
    out["total_s_median"] = round(statistics.median(totals), 3)
    out["total_s_max"] = round(max(totals), 3)
    out["embedded_per_edit"] = sorted({e["embedded"] for e in out["edits"]})
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", type=int, default=100_000)
    ap.add_argument("--alternatives", type=int, default=0, help="alternatives per generated question (big bank)")
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--synthetic-rows", type=int, nargs="*", default=[500_000],
                    help="also time FAISS over this many random rows (e.g. 5 phrasings per question)")
    ap.add_argument("--small", type=int, default=1000, help="entries of the bank edited one entry at a time")
    ap.add_argument("--edits", type=int, default=10)
    ap.add_argument("--skip-big", action="store_true")
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="s2q-bank-scale-"))
    try:
        prepare_cache(work / "cache")
        import faiss

        result = {
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "faiss": faiss.__version__,
                        "faiss_threads": faiss.omp_get_max_threads(), "platform": platform.platform()},
            "targets": {"search_p95_ms": 5.0, "one_edit_rebuild_s": 2.0},
        }
        result["incremental"] = incremental(work, args.small, args.edits)
        print(json.dumps(result["incremental"], indent=2), flush=True)
        if not args.skip_big:
            result["big"] = big_bank(work, args.questions, args.alternatives, args.queries, args.synthetic_rows)
            print(json.dumps(result["big"], indent=2), flush=True)
        if args.json:
            args.json.write_text(json.dumps(result, indent=2) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
