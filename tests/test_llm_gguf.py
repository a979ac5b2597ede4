"""GGUF assembly from part packages, with tiny fake parts."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from rag.config import Settings, get_settings
from rag.errors import ModelUnavailableError
from rag.llm import gguf as gguf_mod
from rag.llm.gguf import BUILTIN_GGUF, GgufSpec, ensure_gguf, models_dir, package_part_path

PARTS = [b"GGUF-part-one|", b"\x00\x01\x02 part two|", "第三部分".encode()]
BLOB = b"".join(PARTS)


@pytest.fixture(autouse=True)
def _no_shared_models_dir(monkeypatch):
    """Tiny fake models must never land in a shared ZHAOJING_MODELS_DIR cache."""
    monkeypatch.delenv("ZHAOJING_MODELS_DIR", raising=False)


@pytest.fixture
def parts_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "parts"
    folder.mkdir()
    for i, data in enumerate(PARTS, start=1):
        (folder / f"part{i:02d}.bin").write_bytes(data)
    return folder


@pytest.fixture
def spec() -> GgufSpec:
    return GgufSpec(filename="tiny.gguf", parts=3, size=len(BLOB), sha256=hashlib.sha256(BLOB).hexdigest())


class Locator:
    """Fake part lookup that counts calls."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.calls = folder, 0

    def __call__(self, index: int) -> Path:
        self.calls += 1
        return self.folder / f"part{index:02d}.bin"


def test_assembles_verified_file(parts_dir, spec):
    seen: list[tuple[int, int]] = []
    path = ensure_gguf(progress=lambda done, total: seen.append((done, total)), locate_part=Locator(parts_dir), spec=spec)
    assert path == get_settings().models_dir / "tiny.gguf"
    assert path.read_bytes() == BLOB
    assert seen[-1] == (len(BLOB), len(BLOB))
    marker = json.loads(path.with_name("tiny.gguf.verified.json").read_text())
    assert marker["sha256"] == spec.sha256 and marker["size"] == len(BLOB)
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".part")] == []


def test_second_call_does_not_rehash(parts_dir, spec, monkeypatch):
    locator = Locator(parts_dir)
    first = ensure_gguf(locate_part=locator, spec=spec)
    calls_after_first = locator.calls

    def no_hashing(*_args, **_kwargs):
        raise AssertionError("re-hashed a verified file")

    monkeypatch.setattr(gguf_mod, "_hash_file", no_hashing)
    monkeypatch.setattr(gguf_mod, "_copy_parts", no_hashing)
    assert ensure_gguf(locate_part=locator, spec=spec) == first
    assert locator.calls == calls_after_first


def test_changed_file_is_reverified_and_rebuilt(parts_dir, spec):
    path = ensure_gguf(locate_part=Locator(parts_dir), spec=spec)
    path.write_bytes(b"X" * len(BLOB))  # same size, new mtime -> marker no longer matches
    os.utime(path, ns=(1, 1))
    assert ensure_gguf(locate_part=Locator(parts_dir), spec=spec).read_bytes() == BLOB


def test_existing_file_without_marker_is_hashed_not_copied(parts_dir, spec, monkeypatch):
    target = get_settings().models_dir / "tiny.gguf"
    target.parent.mkdir(parents=True)
    target.write_bytes(BLOB)
    locator = Locator(parts_dir)
    assert ensure_gguf(locate_part=locator, spec=spec) == target
    assert locator.calls == 0
    assert target.with_name("tiny.gguf.verified.json").exists()


def test_wrong_hash_raises_chinese_error(parts_dir, spec):
    bad = GgufSpec(filename=spec.filename, parts=3, size=spec.size, sha256="0" * 64)
    with pytest.raises(ModelUnavailableError) as info:
        ensure_gguf(locate_part=Locator(parts_dir), spec=bad)
    assert "校验失败" in info.value.message and "make install" in info.value.hint
    folder = get_settings().models_dir
    assert not (folder / "tiny.gguf").exists()
    assert [p for p in folder.iterdir() if p.suffix == ".part"] == []


def test_wrong_total_size_raises_before_copying(parts_dir, spec):
    bad = GgufSpec(filename=spec.filename, parts=3, size=spec.size + 1, sha256=spec.sha256)
    with pytest.raises(ModelUnavailableError, match="大小不对"):
        ensure_gguf(locate_part=Locator(parts_dir), spec=bad)


def test_missing_part_file(parts_dir, spec):
    (parts_dir / "part02.bin").unlink()
    with pytest.raises(ModelUnavailableError, match="找不到分片"):
        ensure_gguf(locate_part=Locator(parts_dir), spec=spec)


def test_missing_part_package():
    with pytest.raises(ModelUnavailableError) as info:
        package_part_path(1, prefix="zhaojing_no_such_model_part")
    assert "缺少安装包" in info.value.message and "make install" in info.value.hint


def test_builtin_part_packages_are_installed():
    paths = [package_part_path(i) for i in range(1, BUILTIN_GGUF.parts + 1)]
    assert sum(p.stat().st_size for p in paths) == BUILTIN_GGUF.size


def test_models_dir_env_override(tmp_path, monkeypatch, parts_dir, spec):
    monkeypatch.setenv("ZHAOJING_MODELS_DIR", str(tmp_path / "shared"))
    assert models_dir() == tmp_path / "shared"
    assert ensure_gguf(locate_part=Locator(parts_dir), spec=spec) == tmp_path / "shared" / "tiny.gguf"


def test_user_gguf_wins(tmp_path):
    custom = tmp_path / "big.gguf"
    custom.write_bytes(b"GGUF")
    assert ensure_gguf(Settings(gguf=custom), locate_part=lambda i: pytest.fail("assembled")) == custom
    with pytest.raises(ModelUnavailableError, match="ZHAOJING_GGUF"):
        ensure_gguf(Settings(gguf=tmp_path / "missing.gguf"))


def test_unwritable_models_dir(tmp_path, monkeypatch, parts_dir, spec):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("file")
    monkeypatch.setenv("ZHAOJING_MODELS_DIR", str(blocker / "models"))
    with pytest.raises(ModelUnavailableError, match="无法写入"):
        ensure_gguf(locate_part=Locator(parts_dir), spec=spec)
