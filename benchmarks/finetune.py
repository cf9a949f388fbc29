"""Build time only (needs torch): MiniLM fine-tuned on the bank's own phrases, SetFit-style.

Contrastive pairs from the bank (`training_pairs`): two phrasings of one entry should embed close
(target cosine 1), an entry's phrasing and its negative examples, another entry's phrasing or a
neutral line should not (target 0). Hard pairs come first: every red-flag and compliance example
meets one of its own entry's negative examples, which is where negation and contrast ("we never
monitored it" / "we monitored it from day one") live. Trained with the cosine-similarity loss
SetFit uses, then saved as a sentence-transformers folder that `Embedder` exports to ONNX once, so
the run time stays torch-free. `tuned.json` (the bank hash and options) keys every cache.
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from pipeline.models import DEFAULT_EMBEDDER, resolve_model
from pipeline.retrieval.bank import content_hash
from pipeline.retrieval.phrases import bank_phrases
from pipeline.retrieval.schema import Bank

WEIGHT_FILES = ("pytorch_model.bin", "model.safetensors", "onnx", "openvino", "rust_model.ot", "tf_model.h5")


@dataclass(frozen=True)
class TuneOptions:
    """Attributes:
        pairs_per_phrase: pairs drawn for each red-flag or compliance example (half similar, half not).
        question_pairs: pairs drawn for each question phrasing (questions already match well).
        epochs: passes over the pairs.
        batch_size: pairs per optimiser step.
        learning_rate: AdamW learning rate.
        max_tokens: phrases are cut to this many tokens while training.
        seed: for the pair sampling and torch.
    """

    pairs_per_phrase: int = 4
    question_pairs: int = 2
    epochs: int = 1
    batch_size: int = 16
    learning_rate: float = 2e-5
    max_tokens: int = 64
    seed: int = 0


def training_pairs(bank: Bank, options: TuneOptions, held_out: frozenset[str] = frozenset()) -> list[tuple[str, str, float]]:
    """(phrase, phrase, target cosine) for the contrastive loss; phrases in `held_out` are never used."""
    rng = random.Random(options.seed)
    pairs = []
    for side in bank_phrases(bank).values():
        side = [p for p in side if p.text not in held_out]
        by_entry: dict[tuple[str, str], list[str]] = {}
        negatives: dict[str, list[str]] = {}
        for p in side:
            if p.kind == "none":
                negatives.setdefault(p.entry_id, []).append(p.text)
            else:
                by_entry.setdefault((p.kind, p.entry_id), []).append(p.text)
        entries = list(by_entry)
        others = [p.text for p in side if p.kind == "none"]
        for (kind, entry), texts in by_entry.items():
            count = options.question_pairs if kind == "question" else options.pairs_per_phrase
            for text in texts:
                for i in range(count):
                    if i % 2 == 0 and len(texts) > 1:
                        pairs.append((text, rng.choice([t for t in texts if t != text]), 1.0))
                        continue
                    hard = negatives.get(entry)
                    if hard and i % 4 == 1:
                        pairs.append((text, rng.choice(hard), 0.0))
                    else:
                        other = rng.choice([e for e in entries if e != (kind, entry)] or [None])
                        pool = by_entry[other] if other and rng.random() < 0.5 else others or []
                        if pool:
                            pairs.append((text, rng.choice(pool), 0.0))
    rng.shuffle(pairs)
    return pairs


def finetune(bank: Bank, target: Path, options: TuneOptions = TuneOptions(),
             held_out: frozenset[str] = frozenset()) -> Path:
    """Fine-tunes the default MiniLM on `bank` into the folder `target` (a sentence-transformers layout)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    base = resolve_model(DEFAULT_EMBEDDER, "embedder")
    torch.manual_seed(options.seed)
    tokenizer = AutoTokenizer.from_pretrained(str(base), local_files_only=True)
    model = AutoModel.from_pretrained(str(base), local_files_only=True)
    model.train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=options.learning_rate)
    pairs = training_pairs(bank, options, held_out)

    def embed(texts: list[str]):
        batch = tokenizer(texts, padding=True, truncation=True, max_length=options.max_tokens, return_tensors="pt")
        hidden = model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1)

    for _ in range(options.epochs):
        for i in range(0, len(pairs), options.batch_size):
            chunk = pairs[i:i + options.batch_size]
            vectors = embed([a for a, _, _ in chunk] + [b for _, b, _ in chunk])
            a, b = vectors[:len(chunk)], vectors[len(chunk):]
            labels = torch.tensor([y for _, _, y in chunk])
            loss = torch.nn.functional.mse_loss((a * b).sum(-1), labels)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    target.mkdir(parents=True, exist_ok=True)
    for item in base.iterdir():
        if item.name in WEIGHT_FILES:
            continue
        if item.is_dir():
            shutil.copytree(item, target / item.name, dirs_exist_ok=True)
        else:
            shutil.copy2(item, target / item.name)
    model.eval()
    model.save_pretrained(str(target), safe_serialization=True)
    tuned = {"base": DEFAULT_EMBEDDER, "bank": content_hash(bank), "role": bank.role.id, "pairs": len(pairs),
             "held_out": len(held_out), "options": asdict(options)}
    (target / "tuned.json").write_text(json.dumps(tuned, indent=2) + "\n")
    return target
