"""Writes pipeline/assets/voices/ge2e.onnx (the voice encoder the package ships), so run time needs
neither the `resemblyzer` wheel nor the `onnx` package.

Run by `make onnx` with any Python that has numpy (no torch). The weights come from
Resemblyzer's wheel, read as a zip (`pip download --no-deps resemblyzer==0.1.4`), or
from an installed `resemblyzer` when no wheel is given.
Usage: python tools/build_voice_onnx.py [RESEMBLYZER_WHEEL] [TARGET_FILE]
"""

from __future__ import annotations

import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.audio.voice_graph import BUNDLED, bundled_weights, lstm_graph, read_legacy_checkpoint  # noqa: E402
from pipeline.errors import S2QError  # noqa: E402

MEMBER = "resemblyzer/pretrained.pt"


def main() -> int:
    wheel = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    target = Path(sys.argv[2]) if len(sys.argv) > 2 else BUNDLED
    start = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            if wheel is not None:
                try:
                    with zipfile.ZipFile(wheel) as zf:
                        weights = Path(zf.extract(MEMBER, tmp))
                except (OSError, KeyError, zipfile.BadZipFile) as exc:
                    raise S2QError(f"{wheel}: not a resemblyzer wheel with {MEMBER} ({exc})") from None
            else:
                weights = bundled_weights()
            graph = lstm_graph(read_legacy_checkpoint(weights)["model_state"])
    except S2QError as exc:
        print(f"build_voice_onnx: error: {exc}", file=sys.stderr)
        return 1
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    partial.write_bytes(graph)
    partial.replace(target)
    print(f"build_voice_onnx: wrote {target} ({len(graph) / 1e6:.1f} MB) in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
