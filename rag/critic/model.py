"""Data shapes of the critic: rules (loaded from YAML), findings, reports and user configuration."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field

from rag.errors import InputError

RULES_DIR = Path(__file__).parent / "rules"
LEVELS = ("suggestion", "warning", "error")
LEVEL_LABELS = {"error": "错误", "warning": "警告", "suggestion": "建议"}
Level = Literal["error", "warning", "suggestion"]
FAMILY_LABELS = {
    "structure": "结构", "frame": "检视框架", "proportion": "篇幅比例", "anchor": "缺少具体事例",
    "perspective": "人称视角", "substitute": "以建议代检查", "excuse": "客观理由", "cause": "原因剖析",
    "measure": "整改措施", "empty": "空洞表态", "generic": "套话", "hedge": "弱化词", "praise": "明批暗表",
    "achievement": "摆成绩", "copied": "照搬提法", "outdated": "过时提法", "formulation": "固定表述",
    "theme": "年度主题", "three_into": "三个摆进去", "form": "文字规范", "placeholder": "占位符",
    "sensitive": "敏感信息", "duplicate": "雷同", "quote": "引文核对", "grounding": "事实依据",
    "linkage": "问题与措施对应", "judge": "模型评审", "claimed": "措施写成结果", "repeat": "重复",
    "unlinked": "措施与问题不对应", "analysis": "原因没有剖析", "blame": "推给别人", "language": "语句残缺",
    "meeting": "会议名称与主题", "problem": "问题写法",
}
"""Chinese names of the rule families (a rule's family is the part of its id before the dot)."""


def family_label(family: str) -> str:
    """Chinese name of a rule family (the id when unknown)."""
    return FAMILY_LABELS.get(family, family)


class Example(BaseModel):
    """A rule example: text plus the context it is checked in."""

    text: str
    year: int | None = None
    meeting_type: str | None = None
    wrap: bool | None = None  # wrap in a heading of the rule's first scope part (default: for item rules)
    corpus: list[str] = Field(default_factory=list)  # reference passages for similarity rules
    corpus_kind: str = "exemplar"
    others: list[str] = Field(default_factory=list)  # other drafts of the same batch
    quotes: list[str] = Field(default_factory=list)  # known sources for quote checks
    known: str | None = None  # facts text for grounding checks


class Examples(BaseModel):
    fail: list[Example | str] = Field(default_factory=list)
    passes: list[Example | str] = Field(default_factory=list, alias="pass")

    model_config = {"populate_by_name": True}


class AppliesTo(BaseModel):
    meeting_types: list[str] = Field(default_factory=lambda: ["班子", "个人", "支部"])
    years: tuple[int, int] = (2000, 2100)
    generated_only: bool = False


class Rule(BaseModel):
    """One critique rule as data, interpreted by its ``type``."""

    id: str
    type: str
    level: Level
    scope: list[str] = Field(default_factory=lambda: ["document"])
    applies_to: AppliesTo = Field(default_factory=AppliesTo)
    params: dict[str, Any] = Field(default_factory=dict)
    message: str
    suggestion: str
    basis: str
    examples: Examples = Field(default_factory=Examples)
    enabled: bool = True

    @property
    def family(self) -> str:
        return self.id.split(".", 1)[0]

    def applies(self, meeting_type: str | None, year: int | None, generated: bool) -> bool:
        """Whether the rule runs for this kind of draft."""
        if self.applies_to.generated_only and not generated:
            return False
        if meeting_type and meeting_type not in self.applies_to.meeting_types:
            return False
        lo, hi = self.applies_to.years
        return year is None or lo <= year <= hi


class Finding(BaseModel):
    """One positioned finding; offsets point into the text the user gave."""

    rule: str
    level: Level
    part: str
    start: int
    end: int
    quote: str
    message: str
    suggestion: str
    basis: str = ""
    detail: str = ""

    @property
    def family(self) -> str:
        return self.rule.split(".", 1)[0]


class CriticConfig(BaseModel):
    """User switches: rules or families off, a minimum level, and parameter overrides per rule."""

    disabled_rules: list[str] = Field(default_factory=list)
    disabled_families: list[str] = Field(default_factory=list)
    min_level: Level = "suggestion"
    params: dict[str, dict[str, Any]] = Field(default_factory=dict)
    enable_judge: bool = False

    def allows(self, rule: Rule) -> bool:
        """Whether a rule is switched on and at or above the minimum level."""
        if not rule.enabled or rule.id in self.disabled_rules or rule.family in self.disabled_families:
            return False
        return LEVELS.index(rule.level) >= LEVELS.index(self.min_level)

    @classmethod
    def load(cls, path: Path | None) -> CriticConfig:
        """Read a YAML config file; a missing path gives the defaults."""
        if path is None or not Path(path).exists():
            return cls()
        try:
            return cls.model_validate(yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {})
        except Exception as exc:  # noqa: BLE001
            raise InputError(f"批改配置文件 {path} 有误：{exc}", "请参照 critic.example.yaml 修改") from exc


@lru_cache(maxsize=4)
def load_rules(folder: Path = RULES_DIR) -> tuple[Rule, ...]:
    """Every rule from every YAML file in ``folder``, in file order; ids must be unique."""
    rules: list[Rule] = []
    for path in sorted(folder.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        for entry in data:
            try:
                rules.append(Rule.model_validate(entry))
            except Exception as exc:  # noqa: BLE001
                raise InputError(f"规则文件 {path.name} 中的规则 {entry.get('id')} 有误：{exc}") from exc
    ids = [r.id for r in rules]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise InputError(f"规则编号重复：{'、'.join(sorted(dup))}")
    return tuple(rules)
