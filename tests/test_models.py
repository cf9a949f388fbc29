"""pipeline.models: a model split across packages is joined once into the models folder."""

from __future__ import annotations

import sys

import pytest

from pipeline.errors import ModelNotFoundError
from pipeline.models import _joined


def _package(root, name: str, files: dict[str, bytes]) -> None:
    data = root / name / "data"
    data.mkdir(parents=True)
    (root / name / "__init__.py").write_text("")
    for file, content in files.items():
        (data / file).write_bytes(content)


def test_a_model_split_across_packages_is_joined_in_part_order(tmp_path, monkeypatch):
    _package(tmp_path, "s2q_fake_part_a", {"model.bin.part1": b"one-", "model.bin.part10": b"-ten"})
    _package(tmp_path, "s2q_fake_part_b", {"model.bin.part2": b"two", "config.json": b"{}"})
    monkeypatch.syspath_prepend(str(tmp_path))
    entry = {"packages": ["s2q_fake_part_a", "s2q_fake_part_b"], "path": str(tmp_path / "models" / "joined")}

    path = _joined("fake", entry)

    assert (path / "model.bin").read_bytes() == b"one-two-ten"  # part10 after part2, not after part1
    assert (path / "config.json").read_bytes() == b"{}"
    assert not (path / "model.bin.part1").exists()
    assert [p.name for p in path.parent.iterdir()] == ["joined"]  # no staging folder left behind
    stamp = (path / "model.bin").stat().st_mtime_ns
    assert _joined("fake", entry) == path
    assert (path / "model.bin").stat().st_mtime_ns == stamp  # joined once


def test_a_missing_part_package_says_which_and_how(tmp_path):
    sys.modules.pop("s2q_no_such_part", None)
    entry = {"packages": ["s2q_no_such_part"], "path": str(tmp_path / "m"), "howto": "run `make install`"}
    with pytest.raises(ModelNotFoundError) as info:
        _joined("fake", entry)
    assert "s2q-no-such-part" in str(info.value) and "make install" in str(info.value)
    assert not (tmp_path / "m").exists()


def test_a_model_that_cannot_be_joined_is_one_clear_error(tmp_path, monkeypatch):
    _package(tmp_path, "s2q_fake_part_c", {"model.bin.part1": b"one"})
    monkeypatch.syspath_prepend(str(tmp_path))
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the models folder should be")
    entry = {"packages": ["s2q_fake_part_c"], "path": str(blocked / "joined")}
    with pytest.raises(ModelNotFoundError) as info:
        _joined("fake", entry)
    assert "cannot join model 'fake'" in str(info.value) and "\n" not in str(info.value)
