"""Writes pipeline/assets/minilm/ (the ONNX embedder the package ships), so run time needs no torch.

Run by `make onnx` in a throw-away venv with the `build` extra; does nothing when
the bundle is newer than the exporter. Usage: python tools/build_onnx.py [TARGET_DIR]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.errors import S2QError  # noqa: E402
from pipeline.models import DEFAULT_EMBEDDER, resolve_model  # noqa: E402
from pipeline.retrieval.onnx_export import write_bundle  # noqa: E402


def main() -> int:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "pipeline" / "assets" / "minilm"
    start = time.perf_counter()
    try:
        path = write_bundle(resolve_model(DEFAULT_EMBEDDER, "embedder"), target)
    except S2QError as exc:
        print(f"build_onnx: error: {exc}", file=sys.stderr)
        return 1
    print(f"build_onnx: wrote {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
