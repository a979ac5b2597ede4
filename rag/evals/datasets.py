"""Evaluation datasets: load, validate (JSON Schema, Chinese messages) and list them.

Two kinds live under ``evals/datasets/`` (and, for datasets users add, under ``<data dir>/evals/datasets``):

* drafting — ``{version: 1, cases: [{id, facts, expect: {aspects, facts_used, must_not_contain, gaps_expected}}]}``
  (``drafting.schema.json``);
* critique — a list of labelled drafts ``[{id, text, year, meeting_type, excerpt, expected: [{family, quote}]}]``
  or ``{version: 1, cases: [...]}`` (``critique.schema.json``); shared with the critic's development set.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from rag.config import EVALS_DIR, PROJECT_ROOT, get_settings
from rag.errors import InputError

SCHEMAS = {"drafting": "drafting.schema.json", "critique": "critique.schema.json"}
MAX_DATASET_BYTES = 20 * 1024 * 1024


@dataclass
class Dataset:
    """A validated dataset: its kind, cases and where it came from."""

    path: Path
    kind: str  # drafting | critique
    cases: list[dict[str, Any]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.stem

    def select(self, ids: list[str] | None) -> Dataset:
        """A copy restricted to the given case ids (in dataset order); unknown ids are an error."""
        if not ids:
            return self
        known = {c["id"] for c in self.cases}
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise InputError(f"数据集 {self.name} 中没有这些用例：{'、'.join(unknown)}",
                             f"可用的用例编号：{'、'.join(sorted(known))}")
        return Dataset(self.path, self.kind, [c for c in self.cases if c["id"] in ids])


def datasets_dir() -> Path:
    """Folder with the datasets shipped in the repository."""
    return EVALS_DIR / "datasets"


def user_datasets_dir() -> Path:
    """Folder for datasets users add (in the data dir, never in the repository)."""
    return get_settings().data_dir / "evals" / "datasets"


def list_datasets() -> list[Path]:
    """Shipped and user datasets (``*.yaml``/``*.yml``/``*.json`` that are not schemas)."""
    out: list[Path] = []
    for folder in (datasets_dir(), user_datasets_dir()):
        if folder.is_dir():
            out += sorted(p for p in folder.iterdir()
                          if p.suffix in (".yaml", ".yml", ".json") and not p.name.endswith(".schema.json"))
    return out


@lru_cache(maxsize=4)
def schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of a dataset kind."""
    return json.loads((datasets_dir() / SCHEMAS[kind]).read_text(encoding="utf-8"))


def detect_kind(data: Any) -> str:
    """``drafting`` when cases point at facts files, ``critique`` when they carry texts."""
    cases = data.get("cases") if isinstance(data, dict) else data
    if isinstance(cases, list) and cases and isinstance(cases[0], dict):
        if "facts" in cases[0]:
            return "drafting"
        if "text" in cases[0]:
            return "critique"
    raise InputError("无法识别数据集类型：用例里既没有 facts（起草用例）也没有 text（批改用例）",
                     "起草用例见 evals/datasets/drafting.yaml，批改用例见 evals/datasets/critique_dev.yaml")


def validate(data: Any, kind: str) -> None:
    """Validate against the kind's JSON Schema; the first problems become one Chinese InputError."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema(kind))
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{_where(e.absolute_path)}：{_explain(e)}" for e in errors[:5]]
        more = f"（另有 {len(errors) - 5} 处）" if len(errors) > 5 else ""
        raise InputError("数据集格式不正确：" + "；".join(lines) + more,
                         f"请对照 evals/datasets/{SCHEMAS[kind]} 修改（编辑器可用它做提示）")


def _where(path) -> str:
    parts = [f"第{p + 1}项" if isinstance(p, int) else str(p) for p in path]
    return " → ".join(parts) or "顶层"


def _explain(err) -> str:
    reasons = {
        "required": "缺少必填字段", "type": "类型不对", "pattern": "格式不对", "minItems": "数量太少",
        "additionalProperties": "有不认识的字段", "enum": "取值不在允许范围内", "const": "取值不对",
        "uniqueItems": "有重复项", "minLength": "不能为空",
    }
    return f"{reasons.get(err.validator, '不符合要求')}（{err.message[:120]}）"


def load_dataset(path: str | Path) -> Dataset:
    """Read, detect and validate a dataset; facts files of drafting cases must exist; ids must be unique."""
    path = resolve_path(path)
    data = _read(path)
    kind = detect_kind(data)
    validate(data, kind)
    cases = data["cases"] if isinstance(data, dict) else data
    ids = [c["id"] for c in cases]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise InputError(f"数据集 {path.name} 中用例编号重复：{'、'.join(dupes)}", "每个用例的 id 必须唯一")
    if kind == "drafting":
        for c in cases:
            if not (PROJECT_ROOT / c["facts"]).is_file():
                raise InputError(f"用例 {c['id']} 的事实文件不存在：{c['facts']}", "事实文件路径相对于仓库根目录")
    return Dataset(path, kind, cases)


def resolve_path(path: str | Path) -> Path:
    """A dataset path as given, else under the shipped or the user datasets folder (``.yaml`` optional)."""
    p = Path(path)
    candidates = [p, datasets_dir() / p, user_datasets_dir() / p]
    candidates += [c.with_name(c.name + ".yaml") for c in candidates if not c.suffix]
    for c in candidates:
        if c.is_file():
            return c
    raise InputError(f"找不到数据集：{path}", "请给出文件路径，或 evals/datasets/ 下的文件名；可用 zhaojing eval list 查看")


def _read(path: Path) -> Any:
    if path.stat().st_size > MAX_DATASET_BYTES:
        raise InputError(f"数据集文件太大（超过 {MAX_DATASET_BYTES // 1024 // 1024} MB）：{path.name}", "请拆分成几个数据集")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"数据集不是 UTF-8 编码：{path.name}", "请用 UTF-8 编码另存后再试") from exc
    try:
        return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise InputError(f"数据集无法解析（YAML/JSON 语法错误）：{path.name}：{str(exc)[:200]}",
                         "请检查缩进、引号和冒号") from exc


def add_dataset(source: str | Path | bytes, name: str | None = None) -> Path:
    """Validate a dataset (a path, or uploaded bytes with ``name``) and copy it to the user datasets folder."""
    folder = user_datasets_dir()
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(source, bytes):
        if not name:
            raise InputError("上传的数据集缺少文件名", "请保留 .yaml 或 .json 扩展名")
        target = folder / Path(name).name
        tmp = folder / f".{target.name}.tmp"
        tmp.write_bytes(source)
    else:
        src = resolve_path(source)
        target = folder / src.name
        tmp = folder / f".{target.name}.tmp"
        shutil.copyfile(src, tmp)
    if target.suffix not in (".yaml", ".yml", ".json"):
        tmp.unlink(missing_ok=True)
        raise InputError(f"数据集必须是 .yaml 或 .json 文件：{target.name}", "请改用 YAML 或 JSON 格式")
    try:
        data = _read(tmp)
        validate(data, detect_kind(data))
    except InputError:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(target)
    return target


def case_fingerprint(case: dict[str, Any]) -> str:
    """Hash of a case, including the facts file it points at (so editing the facts invalidates caches)."""
    h = hashlib.sha256(json.dumps(case, ensure_ascii=False, sort_keys=True).encode())
    if "facts" in case:
        facts = PROJECT_ROOT / case["facts"]
        if facts.is_file():
            h.update(facts.read_bytes())
    return h.hexdigest()[:16]
