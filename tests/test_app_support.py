"""Package functions moved out of ui/common.py: the model pool, the readable stream, eval dataset listing,
the draft reader shared by the CLI and the 批改 page, upload saving, rule-family labels."""

from __future__ import annotations

import io
import sys
import threading

import pytest
import yaml

from rag import app_support as A
from rag import uploads as U
from rag.config import Settings, get_settings
from rag.critic.model import FAMILY_LABELS, family_label, load_rules
from rag.errors import InputError

DRAFT = "一、存在的问题\n一是2025年缺课2次。\n"


# ------------------------------------------------------------------------------ model pool

def test_pool_builds_each_model_once_per_settings():
    pool, built = A.ModelPool(), []

    def build(settings):
        built.append(settings.model)
        return object()

    a = pool.get(Settings(llm="openai", model="a"), build)
    assert pool.get(Settings(llm="openai", model="a"), build) is a
    b = pool.get(Settings(llm="openai", model="b"), build)
    assert b is not a and built == ["a", "b"]
    assert pool.holds(a) and not pool.holds(object())


def test_model_key_keeps_only_a_fingerprint_of_the_api_key():
    secret = "sk-very-secret-0123456789"
    key = A.model_key(Settings(llm="openai", openai_api_key=secret))
    assert secret not in repr(key) and len(key[-1]) == 12
    assert A.model_key(Settings(llm="openai", openai_api_key="other")) != key


def test_first_time_and_background_job_failure_is_only_logged(caplog):
    pool = A.ModelPool()
    assert pool.first_time("warm-up x") and not pool.first_time("warm-up x")
    ran = threading.Event()

    def job():
        ran.set()
        raise RuntimeError("boom")

    A.in_background("test", job).join(10)
    assert ran.is_set() and "background job test failed" in caplog.text


# ------------------------------------------------------------------------------ readable stream

@pytest.mark.parametrize(("partial", "shown"), [
    ('{"原因": "把完成场次', "把完成场次"),
    ('{"fact_ids": ["F1"], "text": "宗旨意识树得不牢", "action": "重新编排', "宗旨意识树得不牢 · 重新编排"),
    ('{"items": [{"fact_ids": ["F', ""),
])
def test_readable_stream_keeps_only_chinese_values(partial, shown):
    assert A.readable_stream(partial) == shown


# ------------------------------------------------------------------------------ eval datasets

def test_eval_datasets_from_the_env_folder_skip_bad_files(tmp_path, monkeypatch):
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump({"cases": [{"id": "a", "text": DRAFT, "expected": []}]},
                                                       allow_unicode=True), encoding="utf-8")
    (tmp_path / "bad.yaml").write_text("cases: 3\n", encoding="utf-8")
    (tmp_path / "x.schema.json").write_text("{}", encoding="utf-8")
    monkeypatch.setenv(A.DATASETS_ENV, str(tmp_path))
    assert A.eval_datasets_dir() == tmp_path
    [ds] = A.eval_datasets()
    assert A.dataset_label(ds) == "tiny.yaml（批改，1 例）"


# ------------------------------------------------------------------------------ reading drafts

def test_uploaded_text_is_decoded_as_given():
    text = "\ufeff" + DRAFT.replace("\n", "\r\n")
    assert U.read_draft("草稿.txt", text.encode("utf-8")) == DRAFT.replace("\n", "\r\n")  # offsets stay exact
    assert U.read_draft("草稿.MD", DRAFT.encode("gbk")) == DRAFT


def test_unsupported_or_broken_upload_is_a_chinese_error():
    with pytest.raises(InputError, match="不支持的文件类型"):
        U.read_draft("草稿.doc", b"x")
    with pytest.raises(InputError):
        U.read_draft("坏文件.docx", b"not a zip at all")


def test_files_and_stdin_for_the_command_line(tmp_path, monkeypatch):
    path = tmp_path / "d.txt"
    path.write_text("---\ntitle: 草稿\n---\n" + DRAFT + "\n\n", encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(DRAFT.encode("gb18030"))))
    texts = U.read_drafts([str(path), "-"])
    assert list(texts) == [str(path), "标准输入"]
    assert texts[str(path)] == DRAFT.strip("\n")  # a file goes through the loaders (front matter removed)
    assert texts["标准输入"] == DRAFT
    with pytest.raises(InputError, match="找不到文件"):
        U.read_draft(tmp_path / "missing.txt")


def test_upload_is_saved_under_a_safe_name():
    path = U.save_upload("../..\\a:b?.txt", b"abc")
    assert path.parent == get_settings().data_dir / "uploads"
    assert path.name == "_a_b_.txt" and path.read_bytes() == b"abc"
    assert U.safe_file_name(".hidden") == "hidden" and U.safe_file_name("...") == "upload.txt"


# ------------------------------------------------------------------------------ rule families

def test_every_rule_family_has_a_chinese_label():
    families = {r.family for r in load_rules()}
    assert families <= set(FAMILY_LABELS), families - set(FAMILY_LABELS)
    assert family_label("hedge") == "弱化词" and family_label("unknown") == "unknown"
