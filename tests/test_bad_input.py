"""Bad input everywhere: facts files, drafts, .docx/.pdf — clear Chinese InputError, never a crash (with
hypothesis fuzzing of the parsers)."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.critic.engine import critique
from rag.draft.facts import UnitFacts, load_facts
from rag.errors import InputError
from rag.kb.loaders import decode_text, load_document, read_docx

CJK = re.compile(r"[\u4e00-\u9fff]")
VALID = "unit: 某局\nmeeting_type: 班子\nyear: 2025\nfacts:\n  - id: F1\n    category: 其他\n    text: 窗口办事慢\n"


def _chinese(exc: InputError) -> None:
    assert CJK.search(exc.message) and CJK.search(exc.hint), str(exc)


# --------------------------------------------------------------------------- facts files


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("- a\n- b", "列表"),
        ("unit: [1, 2]\nmeeting_type: 班子\nyear: abc\nfacts: 5", "年度应为整数"),
        ("unit: 某局", "缺少材料类型"),
        ("[" * 100_000, "嵌套层数过多"),  # RecursionError before the fix
        ("a: " + "[" * 5000, "无法解析"),
        ("unit: x\n" + "#" * 1_100_000, "过大"),
        ("unit: 某局\nmeeting_type: 班子\nyear: 2025\nfacts: [null, 3]", "键值对"),
        ("!!python/object/apply:os.system ['echo hi']", "YAML"),
        (VALID.replace("text: 窗口办事慢", "text: " + "长" * 2100), "过长"),
        (VALID + "facts: []\n", "重复"),
    ],
)
def test_bad_facts_give_chinese_errors(source, expected):
    with pytest.raises(InputError) as info:
        load_facts(source, fmt="json" if source.startswith("[") else None)
    assert expected in str(info.value)
    _chinese(info.value)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "utf-16"])
def test_facts_in_common_encodings(encoding):
    assert load_facts(VALID.encode(encoding)).unit == "某局"


def test_facts_binary_and_folder(tmp_path):
    with pytest.raises(InputError, match="不是文本文件"):
        load_facts(b"PK\x03\x04\x00\x00binary")
    with pytest.raises(InputError, match="文件夹"):
        load_facts(str(tmp_path))  # a parse error about “一段文字” before the fix


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_fuzz_facts_bytes(data):
    try:
        assert isinstance(load_facts(data), UnitFacts)
    except InputError as exc:
        _chinese(exc)


YAMLISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=25,
)
FIELDS = st.fixed_dictionaries({}, optional={
    "unit": YAMLISH, "meeting_type": st.sampled_from(["班子", "个人", "支部", "x"]) | YAMLISH,
    "year": st.integers(1990, 2040) | YAMLISH, "facts": st.lists(st.fixed_dictionaries({}, optional={
        "id": YAMLISH, "category": st.sampled_from(["其他", "学习"]) | YAMLISH, "text": YAMLISH,
        "people": YAMLISH}), max_size=3) | YAMLISH,
    "writer": YAMLISH, "meeting_date": YAMLISH, "preparation": YAMLISH,
})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(FIELDS, st.sampled_from(["yaml", "json"]))
def test_fuzz_facts_structures(data, fmt):
    text = json.dumps(data, ensure_ascii=False) if fmt == "json" else yaml.safe_dump(data, allow_unicode=True)
    try:
        assert isinstance(load_facts(text, fmt=fmt), UnitFacts)
    except InputError as exc:
        _chinese(exc)


# --------------------------------------------------------------------------- drafts


def test_draft_decoding():
    assert decode_text("一、存在的问题".encode("gbk")) == "一、存在的问题"
    assert decode_text("一、存在的问题".encode("utf-16")) == "一、存在的问题"  # refused before the fix
    assert decode_text(b"") == ""
    with pytest.raises(InputError, match="不是文本文件"):
        decode_text(b"abc\x00\x01\x02def", "x.txt")  # decoded as text before the fix


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_fuzz_decode_text(data):
    try:
        assert isinstance(decode_text(data, "x.txt"), str)
    except InputError as exc:
        _chinese(exc)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300), st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))
def test_decode_round_trip(text, encoding):
    if "\x00" in text and encoding != "utf-16":
        return
    try:
        raw = text.encode(encoding)
    except UnicodeEncodeError:  # lone surrogates
        return
    assert decode_text(raw) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", "空"), ("  \n\n", "空"), ("一、存在的问题\n一是有时回应不及时。\n" * 200_000, "过长"), ("\x00\x01abc" * 300, "不是文本")],
)
def test_critic_refuses_bad_drafts(text, expected):
    with pytest.raises(InputError) as info:
        critique(text)
    assert expected in info.value.message
    _chinese(info.value)


# --------------------------------------------------------------------------- .docx / .pdf


def _docx_bytes(text: str = "一、存在的问题") -> bytes:
    import docx

    buf = io.BytesIO()
    document = docx.Document()
    document.add_paragraph(text)
    document.save(buf)
    return buf.getvalue()


def _pdf(tmp_path, name: str, **encrypt) -> object:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    if encrypt:
        writer.encrypt(**encrypt)
    path = tmp_path / name
    writer.write(path)
    return path


def _zip_without_document() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "x")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("corrupt.docx", b"PK\x03\x04garbage", "已损坏"),
        ("empty.docx", b"", "已损坏"),
        ("zip.docx", _zip_without_document(), "已损坏"),
        ("encrypted.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), "已加密"),
        ("truncated.docx", _docx_bytes()[:700], "已损坏"),
        ("corrupt.pdf", b"%PDF-1.4\ngarbage", "已损坏"),
        ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR", "不是文本文件"),
        ("empty.txt", b"", "没有可用的文字"),
        ("old.doc", b"\xd0\xcf\x11\xe0", "不支持"),
    ],
)
def test_bad_documents(tmp_path, name, data, expected):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(InputError) as info:
        load_document(path)
    assert expected in info.value.message
    _chinese(info.value)


def test_pdf_encrypted_and_image_only(tmp_path):
    with pytest.raises(InputError, match="已加密"):
        load_document(_pdf(tmp_path, "enc.pdf", user_password="secret"))
    with pytest.raises(InputError, match="没有文字层"):
        load_document(_pdf(tmp_path, "scan.pdf"))
    with pytest.raises(InputError, match="没有文字层"):  # owner password only: opens, but has no text either
        load_document(_pdf(tmp_path, "owner.pdf", user_password="", owner_password="own"))


def test_document_over_size_limit(tmp_path):
    path = tmp_path / "big.txt"
    path.write_bytes("字".encode() * 400_000)
    with pytest.raises(InputError, match="文件过大"):
        load_document(path, max_bytes=1_000_000)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=4000))
def test_fuzz_docx_reader_random_bytes(tmp_path, data):
    path = tmp_path / "fuzz.docx"
    path.write_bytes(data)
    with pytest.raises(InputError):
        read_docx(path)


VALID_DOCX = _docx_bytes("一、存在的问题\n一是调研不深入。")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, len(VALID_DOCX) - 1), st.integers(0, 255)), min_size=1, max_size=8))
def test_fuzz_docx_reader_mutated_package(tmp_path, flips):
    data = bytearray(VALID_DOCX)
    for pos, value in flips:
        data[pos] = value
    path = tmp_path / "mutated.docx"
    path.write_bytes(bytes(data))
    try:
        assert isinstance(read_docx(path), str)
    except InputError as exc:
        _chinese(exc)
