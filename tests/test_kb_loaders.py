"""Loaders: front matter, kinds, encodings, .docx, .pdf, and Chinese errors for bad files."""

from __future__ import annotations

import docx
import pytest
from pypdf import PdfWriter

from rag.errors import InputError
from rag.kb.loaders import join_broken_lines, load_document

FRONT = """---
title: 某局领导班子2024年度民主生活会对照检查材料
kind: exemplar
year: 2024
meeting_type: 班子
doc_date: 2025-01-20
tags: [四个带头, 高标准农田]
---

# 某局领导班子2024年度民主生活会对照检查材料

一、存在的问题
"""


def make_pdf(lines: list[str]) -> bytes:
    """A one-page PDF whose text layer holds ``lines`` (ASCII, Helvetica)."""
    content = "BT /F1 12 Tf 14 TL 72 720 Td " + " ".join(f"({ln}) Tj T*" for ln in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for i, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{obj}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{off:010d} 00000 n \n".encode() for off in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def test_markdown_front_matter_becomes_metadata(tmp_path):
    path = tmp_path / "a.md"
    path.write_text(FRONT, encoding="utf-8")
    doc = load_document(path)
    assert doc.metadata["title"] == "某局领导班子2024年度民主生活会对照检查材料"
    assert doc.metadata["kind"] == "exemplar"
    assert doc.metadata["year"] == 2024
    assert doc.metadata["meeting_type"] == "班子"
    assert doc.metadata["doc_date"] == "2025-01-20"
    assert doc.metadata["tags"] == "四个带头,高标准农田"
    assert "---" not in doc.text and doc.text.startswith("# 某局")


def test_kind_from_folder_default_and_override(tmp_path):
    for folder in ("policy", "past", "exemplars", "cases", "uploads"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.md").write_text("一、存在的问题\n学习不够。", encoding="utf-8")
    kinds = {f: load_document(tmp_path / f / "x.md").kind for f in ("policy", "past", "exemplars", "cases", "uploads")}
    assert kinds == {"policy": "policy", "past": "past_material", "exemplars": "exemplar", "cases": "case",
                     "uploads": "past_material"}
    assert load_document(tmp_path / "policy" / "x.md", kind="case").kind == "case"
    with pytest.raises(InputError, match="未知的材料类型"):
        load_document(tmp_path / "policy" / "x.md", kind="novel")


def test_year_and_meeting_type_guessed_from_title(tmp_path):
    path = tmp_path / "m.txt"
    path.write_text("某支部2023年度组织生活会对照检查材料\n一、存在的问题\n三会一课落实不到位。", encoding="utf-8")
    meta = load_document(path).metadata
    assert meta["year"] == 2023 and meta["meeting_type"] == "支部"
    assert meta["title"] == "某支部2023年度组织生活会对照检查材料"


def test_bad_front_matter_is_a_chinese_error(tmp_path):
    path = tmp_path / "bad.md"
    path.write_text("---\ntitle: [unclosed\n---\n正文", encoding="utf-8")
    with pytest.raises(InputError, match="元数据"):
        load_document(path)


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "utf-8"])
def test_text_encodings(tmp_path, encoding):
    text = "对照检查材料\n一、存在的问题\n学用脱节，落实“两个维护”不够坚决。"
    path = tmp_path / "t.txt"
    path.write_bytes(text.encode(encoding))
    doc = load_document(path)
    assert doc.text == text
    assert "\ufeff" not in doc.text


def test_size_limit(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("学" * 100, encoding="utf-8")
    with pytest.raises(InputError, match="文件过大"):
        load_document(path, max_bytes=50)
    assert load_document(path, max_bytes=10_000).text == "学" * 100


def test_missing_and_unsupported_files(tmp_path):
    with pytest.raises(InputError, match="找不到文件"):
        load_document(tmp_path / "nope.md")
    (tmp_path / "old.doc").write_bytes(b"x" * 10)
    with pytest.raises(InputError, match="不支持的文件类型"):
        load_document(tmp_path / "old.doc")


def test_docx_round_trip_keeps_order_headings_numbering_and_tables(tmp_path):
    document = docx.Document()
    document.add_paragraph("某局班子对照检查材料", style="Title")
    document.add_heading("一、存在的问题", level=1)
    document.add_paragraph("（一）理论学习方面", style="Heading 2")
    document.add_paragraph("学习不深入。", style="List Number")
    document.add_paragraph("学用脱节。", style="List Number")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "问题", "措施"
    table.cell(1, 0).text, table.cell(1, 1).text = "学习不够", "每月一次"
    document.add_paragraph("结尾段。")
    path = tmp_path / "r.docx"
    document.save(str(path))

    doc = load_document(path)
    assert doc.text.split("\n") == [
        "# 某局班子对照检查材料", "## 一、存在的问题", "### （一）理论学习方面", "1.学习不深入。", "2.学用脱节。",
        "问题 | 措施", "学习不够 | 每月一次", "结尾段。",
    ]
    assert doc.title == "某局班子对照检查材料"
    assert doc.kind == "past_material"


def test_corrupt_and_encrypted_docx(tmp_path):
    broken = tmp_path / "broken.docx"
    broken.write_bytes(b"PK\x03\x04 this is not really a zip file")
    with pytest.raises(InputError, match="无法读取该Word文件"):
        load_document(broken)
    encrypted = tmp_path / "locked.docx"
    encrypted.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    with pytest.raises(InputError, match="已加密"):
        load_document(encrypted)


def test_pdf_text_layer_with_broken_lines_joined(tmp_path):
    path = tmp_path / "t.pdf"
    path.write_bytes(make_pdf([
        "Report",
        "The main problem is that our study of the theory",
        "was not deep enough and practice lagged far behind.",
        "1. First item ends here.",
    ]))
    doc = load_document(path)
    assert doc.text.split("\n") == [
        "Report",
        "The main problem is that our study of the theory was not deep enough and practice lagged far behind.",
        "1. First item ends here.",
    ]


def test_join_broken_chinese_lines_and_page_numbers():
    page1 = "一、存在的问题\n理论学习不够深入，全年参加中心组学习12次，但多数只\n是读原文。\n- 1 -"
    page2 = "二、原因分析\n理想信念有所松懈。"
    assert join_broken_lines([page1, page2]).split("\n") == [
        "一、存在的问题", "理论学习不够深入，全年参加中心组学习12次，但多数只是读原文。", "二、原因分析", "理想信念有所松懈。",
    ]


def test_image_only_encrypted_and_corrupt_pdf(tmp_path):
    writer = PdfWriter()
    writer.add_blank_page(612, 792)
    blank = tmp_path / "scan.pdf"
    with blank.open("wb") as fh:
        writer.write(fh)
    with pytest.raises(InputError, match="该PDF没有文字层"):
        load_document(blank)

    source = tmp_path / "t.pdf"
    source.write_bytes(make_pdf(["Hello world, this page has text."]))
    writer = PdfWriter()
    writer.append(str(source))
    writer.encrypt("secret")
    locked = tmp_path / "locked.pdf"
    with locked.open("wb") as fh:
        writer.write(fh)
    with pytest.raises(InputError, match="已加密"):
        load_document(locked)

    corrupt = tmp_path / "corrupt.pdf"
    corrupt.write_bytes(b"%PDF-1.4\nthis is garbage")
    with pytest.raises(InputError, match="无法读取该PDF文件"):
        load_document(corrupt)
