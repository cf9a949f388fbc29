"""Refuses to build a wheel without the exported embedder, which the installed tool needs (no torch at run time)."""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ONNX = Path(__file__).resolve().parent / "pipeline" / "assets" / "minilm" / "model.onnx"


class BuildPy(build_py):
    def run(self):
        if not getattr(self, "editable_mode", False) and not ONNX.exists():
            raise SystemExit(f"error: {ONNX} is missing: run `make onnx` first (or `make dist` for a wheel)")
        super().run()


setup(cmdclass={"build_py": BuildPy})
