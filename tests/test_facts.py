"""Unit facts: example files, loader, Chinese error messages, and the drafting eval dataset."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from rag.draft.facts import (
    CATEGORIES,
    FACTS_SCHEMA_DOC,
    MAX_FACTS_BYTES,
    Fact,
    UnitFacts,
    facts_from_dict,
    load_facts,
)
from rag.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples" / "facts").glob("*.yaml"))
EVAL_FACTS = sorted((ROOT / "evals" / "datasets" / "facts").glob("*.yaml"))
DATASET = ROOT / "evals" / "datasets" / "drafting.yaml"
DATASET_SCHEMA = ROOT / "evals" / "datasets" / "drafting.schema.json"
FRAMES = {
    data["id"]: data
    for data in (
        yaml.safe_load(p.read_text("utf-8")) for p in (ROOT / "knowledge_base" / "frames").glob("*.yaml")
    )
}
# Strings a draft must never repeat even when the user's own facts contain them.
NEVER_REPEAT = {"任务重", "人手少", "时间紧", "有所", "一定程度上", "偶尔", "有时"}


def _valid() -> dict[str, Any]:
    """A minimal valid facts mapping; tests break one thing at a time."""
    return {
        "unit": "澄湖县水利局领导班子",
        "meeting_type": "班子",
        "year": 2025,
        "facts": [
            {
                "id": f"F{i}",
                "category": "担当",
                "text": f"2025年第{i}季度泵站改造完成{i * 3}座",
                "source": "台账",
            }
            for i in range(1, 4)
        ],
    }


def _error(data: Any) -> InputError:
    """The InputError raised for ``data`` given as YAML text."""
    with pytest.raises(InputError) as info:
        load_facts(yaml.safe_dump(data, allow_unicode=True))
    return info.value


def _assert_chinese(err: InputError) -> None:
    """No untranslated pydantic wording leaks into user-facing text."""
    text = f"{err.message} {err.hint}"
    for english in ("Input should", "Field required", "Value error", "validation error", "Extra inputs"):
        assert english not in text
    assert err.hint


def _resolve_frame(facts: UnitFacts) -> dict[str, Any]:
    """The frame a drafter would use: the explicit one, else the highest-priority match."""
    if facts.frame:
        return FRAMES[facts.frame]
    matches = [
        f for f in FRAMES.values() if facts.year in f["years"] and facts.meeting_type in f["meeting_types"]
    ]
    return max(matches, key=lambda f: f.get("priority", 0))


def _aspects_for_hint(hint: str, frame: dict[str, Any]) -> list[str]:
    """Aspect names a fact's ``aspect`` hint points to (name, part of the name, or a keyword)."""
    return [a["name"] for a in frame["aspects"] if hint in a["name"] or hint in a.get("keywords", [])]


# --------------------------------------------------------------------------------------------------
# Example files


def test_examples_exist_for_every_meeting_type_and_frame() -> None:
    loaded = [load_facts(p) for p in EXAMPLES if p.name != "mini.yaml"]
    types = [f.meeting_type for f in loaded]
    assert len(loaded) >= 6
    assert all(types.count(t) >= 2 for t in ("班子", "个人", "支部"))
    frames = {f.frame for f in loaded}
    assert {"2023-zhuti-jiaoyu", "2024-minzhu-sigedaitou", "2025-minzhu-wugedaitou"} <= frames
    assert {"zhibu-liudajilv", "zhibu-liugefangmian"} <= frames


@pytest.mark.parametrize("path", EXAMPLES + EVAL_FACTS, ids=lambda p: p.name)
def test_facts_file_loads_and_is_consistent(path: Path) -> None:
    facts = load_facts(path)
    frame = _resolve_frame(facts)
    assert facts.year in frame["years"] and facts.meeting_type in frame["meeting_types"]
    assert facts.meeting_date is not None and facts.meeting_date.year in (facts.year, facts.year + 1)
    assert all(f.source for f in facts.facts if f.category != "其他"), "sources must be filled in"
    for fact in facts.facts:
        if fact.aspect:
            assert len(_aspects_for_hint(fact.aspect, frame)) == 1, (fact.id, fact.aspect)


@pytest.mark.parametrize("path", [p for p in EXAMPLES if p.name != "mini.yaml"], ids=lambda p: p.name)
def test_full_examples_are_rich_enough(path: Path) -> None:
    facts = load_facts(path)
    assert 8 <= len(facts.facts) <= 16
    assert facts.preparation.study_sessions is not None and facts.preparation.opinions is not None
    categories = {f.category for f in facts.facts}
    assert "上年度整改" in categories
    if "反面典型案例剖析" in _resolve_frame(facts)["required_sections"]:
        assert "典型案例" in categories


def test_mini_example_is_small_banzi_2025() -> None:
    mini = load_facts(ROOT / "examples" / "facts" / "mini.yaml")
    assert (mini.meeting_type, mini.year, len(mini.facts)) == ("班子", 2025, 4)


def test_one_example_is_deliberately_thin() -> None:
    thin = []
    for path in EXAMPLES:
        facts = load_facts(path)
        frame = _resolve_frame(facts)
        hinted = {name for f in facts.facts if f.aspect for name in _aspects_for_hint(f.aspect, frame)}
        if path.name != "mini.yaml" and len(hinted) < len(frame["aspects"]):
            thin.append(path.name)
    assert thin == ["geren-2023-baizhou-thin.yaml"]


# --------------------------------------------------------------------------------------------------
# Model and helpers


def test_helpers_on_personal_example() -> None:
    facts = load_facts(ROOT / "examples" / "facts" / "geren-2025-lanxi-fujuzhang.yaml")
    assert facts.fact("F4") is not None and facts.fact("F4").people == ["林晓雯"]
    assert facts.fact("F99") is None
    assert facts.people_names() == ["陈立峰", "林晓雯"]
    known = facts.known_text()
    assert facts.unit in known and facts.writer.role in known
    assert all(f.text in known and f.source in known for f in facts.facts)
    assert "2026年1月22日" in known and "征求意见9条" in known


def test_lenient_inputs_are_normalised() -> None:
    data = _valid() | {
        "year": "2025年度",
        "meeting_date": "2026年1月20日",
        "meeting_type": "个人",
        "writer": "副局长",
    }
    data["facts"][0] |= {"id": 7, "source": "2025-11-30", "aspect": "  ", "people": ["李某", " ", "李某"]}
    facts = load_facts(yaml.safe_dump(data, allow_unicode=True).replace("'2025-11-30'", "2025-11-30"))
    assert facts.year == 2025 and facts.meeting_date == date(2026, 1, 20)
    assert facts.writer is not None and facts.writer.role == "副局长"
    first = facts.facts[0]
    assert (first.id, first.source, first.aspect, first.people) == ("7", "2025-11-30", None, ["李某"])


def test_round_trip_through_json(tmp_path: Path) -> None:
    for path in EXAMPLES:
        original = load_facts(path)
        text = original.model_dump_json(indent=2)
        assert load_facts(text, fmt="json") == original
        target = tmp_path / f"{path.stem}.json"
        target.write_text(json.dumps(original.model_dump(mode="json"), ensure_ascii=False), "utf-8")
        assert load_facts(target) == original
        assert load_facts(str(target)) == original


def test_bytes_with_bom_and_utf16_load() -> None:
    text = yaml.safe_dump(_valid(), allow_unicode=True)
    assert load_facts(b"\xef\xbb\xbf" + text.encode("utf-8")).unit == "澄湖县水利局领导班子"
    assert load_facts(text.encode("utf-16")).unit == "澄湖县水利局领导班子"
    assert load_facts("\ufeff" + text).year == 2025


def test_gbk_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "gbk.yaml"
    path.write_bytes(yaml.safe_dump(_valid(), allow_unicode=True).encode("gbk"))
    facts = load_facts(path)
    assert facts.unit == "澄湖县水利局领导班子"
    assert facts.facts[1].text == "2025年第2季度泵站改造完成6座"


def test_schema_doc_names_every_field_and_category() -> None:
    for field in (*UnitFacts.model_fields, *Fact.model_fields, "study_sessions", "talks", "opinions", "role"):
        assert field in FACTS_SCHEMA_DOC
    assert all(category in FACTS_SCHEMA_DOC for category in CATEGORIES)


# --------------------------------------------------------------------------------------------------
# Errors: every message names the field in Chinese


def test_missing_field_is_named() -> None:
    data = _valid()
    del data["unit"]
    err = _error(data)
    assert "缺少单位" in err.message
    _assert_chinese(err)


def test_missing_fact_text_is_named_with_position() -> None:
    data = _valid()
    del data["facts"][2]["text"]
    err = _error(data)
    assert "第3条事实的内容" in err.message and "F3" in err.message
    _assert_chinese(err)


def test_empty_fact_text_is_named() -> None:
    data = _valid()
    data["facts"][1]["text"] = "   "
    err = _error(data)
    assert "第2条事实的内容不能为空" in err.message


@pytest.mark.parametrize(
    ("field", "value", "label"),
    [
        ("year", "明年", "年度"),
        ("unit", ["甲", "乙"], "单位"),
        ("facts", "全年完成任务", "事实列表"),
        ("meeting_type", "领导班子", "材料类型"),
        ("meeting_date", "下个月", "会议日期"),
        ("preparation", {"talks": "很多"}, "谈心谈话人次"),
        ("frame", "2025年五个带头", "检视框架"),
    ],
)
def test_wrong_type_is_named(field: str, value: Any, label: str) -> None:
    err = _error(_valid() | {field: value})
    assert label in err.message
    _assert_chinese(err)


def test_bad_category_suggests_the_nearest_or_lists_choices() -> None:
    data = _valid()
    data["facts"][0]["category"] = "作风建设"
    err = _error(data)
    assert "第1条事实的类别" in err.message and "作风建设" in err.message and "是否应为“作风”" in err.message
    data["facts"][0]["category"] = "其它事项"
    err = _error(data)
    assert "第1条事实的类别" in err.message and "管党治党" in err.message  # nothing close: every choice is listed


def test_duplicate_fact_id() -> None:
    data = _valid()
    data["facts"][2]["id"] = "F2"
    err = _error(data)
    assert "事实编号" in err.message and "F2" in err.message and "唯一" in err.hint
    _assert_chinese(err)


def test_personal_without_writer() -> None:
    err = _error(_valid() | {"meeting_type": "个人"})
    assert "撰写人" in err.message and "writer" in err.hint
    _assert_chinese(err)


def test_personal_writer_without_role() -> None:
    err = _error(_valid() | {"meeting_type": "个人", "writer": {"name": "某人"}})
    assert "撰写人的职务" in err.message


@pytest.mark.parametrize("year", [2014, 2036, 2050])
def test_bad_year(year: int) -> None:
    err = _error(_valid() | {"year": year})
    assert "年度" in err.message and str(year) in err.message
    _assert_chinese(err)


def test_empty_facts() -> None:
    err = _error(_valid() | {"facts": []})
    assert "事实列表至少要有1条" in err.message


def test_too_many_facts() -> None:
    facts = [{"id": f"F{i}", "category": "其他", "text": "事实"} for i in range(201)]
    err = _error(_valid() | {"facts": facts})
    assert "事实列表最多200条" in err.message


def test_overlong_fact_text() -> None:
    data = _valid()
    data["facts"][0]["text"] = "长" * 2001
    err = _error(data)
    assert "第1条事实的内容过长" in err.message and "2000" in err.message


def test_unknown_and_chinese_keys_are_named() -> None:
    data = _valid() | {"单位": "甲"}
    data["facts"][0]["catgory"] = "学习"
    err = _error(data)
    assert "“单位”（应写作 unit）" in err.message
    assert "第1条事实中有不认识的字段“catgory”" in err.message


def test_many_errors_are_counted_and_truncated() -> None:
    facts = [{"id": f"F{i}", "category": "不存在", "text": "事实"} for i in range(12)]
    err = _error(_valid() | {"facts": facts})
    assert "有12处" in err.message and "另有4处" in err.message


def test_gbk_file_with_error_names_field(tmp_path: Path) -> None:
    path = tmp_path / "gbk-bad.yaml"
    path.write_bytes(yaml.safe_dump(_valid() | {"year": 1999}, allow_unicode=True).encode("gbk"))
    with pytest.raises(InputError) as info:
        load_facts(path)
    assert "年度" in info.value.message and "1999" in info.value.message


def test_huge_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    text = yaml.safe_dump(_valid(), allow_unicode=True) + "notes: " + "字" * MAX_FACTS_BYTES
    path.write_text(text, "utf-8")
    for source in (path, text, text.encode("utf-8")):
        with pytest.raises(InputError) as info:
            load_facts(source)
        assert "过大" in info.value.message and "1 MB" in info.value.message


def test_invalid_yaml_reports_line() -> None:
    with pytest.raises(InputError) as info:
        load_facts("unit: 甲\nyear: 2025\nfacts:\n  - id: F1\n    text: 会议: 没开\n")
    assert "YAML 格式有误" in info.value.message and "第5行" in info.value.message
    _assert_chinese(info.value)


def test_tab_indentation_reports_tab() -> None:
    with pytest.raises(InputError) as info:
        load_facts("unit: 甲\n\tyear: 2025\n")
    assert "制表符" in info.value.message


def test_duplicate_yaml_key_is_refused() -> None:
    with pytest.raises(InputError) as info:
        load_facts("unit: 甲\nyear: 2025\nunit: 乙\n")
    assert "“unit”重复" in info.value.message and "第3行" in info.value.message


def test_invalid_json_reports_line() -> None:
    with pytest.raises(InputError) as info:
        load_facts('{\n  "unit": "甲",\n}', fmt="json")
    assert "JSON 格式有误" in info.value.message and "第3行" in info.value.message


def test_top_level_list_is_refused() -> None:
    with pytest.raises(InputError) as info:
        load_facts("- id: F1\n  category: 学习\n  text: 学习\n")
    assert "列表" in info.value.message and "事实列表" in info.value.hint


@pytest.mark.parametrize("value", [["a"], "只有一句话", 42, None])
def test_facts_from_dict_refuses_non_mapping(value: Any) -> None:
    with pytest.raises(InputError) as info:
        facts_from_dict(value)
    assert "事实材料" in info.value.message


def test_facts_from_dict_converts_validation_errors() -> None:
    with pytest.raises(InputError) as info:
        facts_from_dict(_valid() | {"year": None})
    assert "年度" in info.value.message
    assert facts_from_dict(_valid()).unit == "澄湖县水利局领导班子"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("", "空"),
        ("# 只有注释\n", "空"),
        ("不存在的文件.yaml", "找不到"),
        (b"PK\x03\x04\x00\x00", "不是文本文件"),
    ],
)
def test_unreadable_inputs(source: Any, expected: str) -> None:
    with pytest.raises(InputError) as info:
        load_facts(source)
    assert expected in info.value.message


def test_undecodable_bytes_and_bad_format() -> None:
    with pytest.raises(InputError) as info:
        load_facts(b"unit: \x80\x80\xff")
    assert "编码" in info.value.message
    with pytest.raises(InputError) as info:
        load_facts("unit: 甲", fmt="xml")
    assert "格式" in info.value.message


def test_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_facts(tmp_path)
    assert "文件夹" in info.value.message


# --------------------------------------------------------------------------------------------------
# Drafting eval dataset


def _cases() -> list[dict[str, Any]]:
    return yaml.safe_load(DATASET.read_text("utf-8"))["cases"]


def test_dataset_matches_its_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(DATASET_SCHEMA.read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    errors = list(
        jsonschema.Draft202012Validator(schema).iter_errors(yaml.safe_load(DATASET.read_text("utf-8")))
    )
    assert errors == []


def test_dataset_has_twelve_distinct_cases() -> None:
    cases = _cases()
    assert len(cases) >= 12
    assert len({c["id"] for c in cases}) == len(cases)
    assert len({c["facts"] for c in cases}) == len(cases)
    used = {ROOT / c["facts"] for c in cases}
    assert set(EXAMPLES) | set(EVAL_FACTS) <= used


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c["id"])
def test_dataset_case_is_consistent_with_its_facts(case: dict[str, Any]) -> None:
    facts = load_facts(ROOT / case["facts"])
    frame, expect = _resolve_frame(facts), case["expect"]
    assert expect.get("frame", frame["id"]) == frame["id"]
    assert expect["aspects"] == [a["name"] for a in frame["aspects"]]
    assert set(expect["gaps_expected"]) <= set(expect["aspects"])
    assert all(facts.fact(fid) is not None for fid in expect["facts_used"])
    grounded = {name for f in facts.facts if f.aspect for name in _aspects_for_hint(f.aspect, frame)}
    assert grounded == set(expect["aspects"]) - set(expect["gaps_expected"])
    known, names = facts.known_text(), set(facts.people_names())
    leaked = [s for s in expect["must_not_contain"] if s in known and s not in names | NEVER_REPEAT]
    assert leaked == [], "must_not_contain would forbid the case's own facts"
