"""Reading the drafts a user hands in (a file, an upload, standard input) and keeping knowledge-base uploads.

One reader for the command line (``zhaojing critique FILE…``) and the 批改 page's upload.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

from rag.errors import InputError

STDIN = "-"
"""The file name that means standard input on the command line."""
STDIN_NAME = "标准输入"
UPLOAD_TYPES = ("docx", "txt", "md", "pdf")
"""File types a draft or a knowledge-base document can be uploaded as (for the file pickers)."""
_TEXT_SUFFIXES = (".txt", ".md", ".markdown")
_UNSAFE = re.compile(r"[\\/:*?\"<>|\x00-\x1f]")


def read_draft(source: str | Path, data: bytes | None = None) -> str:
    """The text of a draft to critique.

    With ``data``: the bytes of an upload named ``source``; .txt/.md are decoded as they are (the critic's
    offsets then point into exactly what the user gave), .docx/.pdf go through the knowledge-base loaders.
    Without: ``source`` is a file read by the loaders, or ``-`` for standard input (decoded as text).
    Errors are Chinese InputErrors.
    """
    from rag.kb.loaders import decode_text, load_document

    if data is None:
        if str(source) == STDIN:
            return decode_text(sys.stdin.buffer.read(), STDIN_NAME)
        return load_document(Path(source)).text
    name = str(source)
    suffix = Path(name).suffix.lower()
    if suffix in _TEXT_SUFFIXES:
        return decode_text(data, name)
    if suffix not in (".docx", ".pdf"):
        raise InputError(f"不支持的文件类型：{name}", "请上传 .docx、.txt、.md 或 .pdf 文件")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        return load_document(path).text


def read_drafts(sources: list[str]) -> dict[str, str]:
    """Several drafts by file name (``-``: standard input, named “标准输入”), in the order given."""
    return {(STDIN_NAME if name == STDIN else name): read_draft(name) for name in sources}


def uploads_dir() -> Path:
    """Where knowledge-base uploads are kept (``<data_dir>/uploads``), created when missing."""
    from rag.config import get_settings

    folder = get_settings().data_dir / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def safe_file_name(name: str, default: str = "upload.txt") -> str:
    """An uploaded file's own name made safe to write: no folders, no characters Windows refuses, no leading dot."""
    return _UNSAFE.sub("_", Path(name).name).lstrip(".") or default


def save_upload(name: str, data: bytes) -> Path:
    """Write an uploaded file into the uploads folder under its own (sanitised) name; the path written."""
    path = uploads_dir() / safe_file_name(name)
    path.write_bytes(data)
    return path
