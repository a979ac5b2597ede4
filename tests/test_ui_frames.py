"""The 会议框架 page driven headlessly with AppTest (temp data dir from conftest, no network)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from streamlit.testing.v1 import AppTest

from rag.config import get_settings
from rag.frames import builtin_frames, create_user_frame, get_frame, user_frames

ROOT = Path(__file__).resolve().parent.parent
REAL_FRAMES = ROOT / "data" / "frames"
TIMEOUT = 120
NAME = "2026年学习教育专题组织生活会"
ASPECTS = ("对照党章党规，查找政治功能方面的差距｜政治功能、三会一课｜三会一课、党员教育管理\n"
           "在服务群众上带头｜服务群众")


@pytest.fixture(autouse=True)
def _project_on_path(monkeypatch):
    """Pages import ``ui.common``; ``streamlit run ui/app.py`` puts the root on sys.path, tests do it here."""
    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.chdir(ROOT)


@pytest.fixture(autouse=True)
def _real_data_untouched():
    """The page writes into the temp data dir only, never into the project's data/frames/."""
    assert get_settings().data_dir != ROOT / "data"
    before = sorted(REAL_FRAMES.glob("*")) if REAL_FRAMES.is_dir() else []
    yield
    after = sorted(REAL_FRAMES.glob("*")) if REAL_FRAMES.is_dir() else []
    assert after == before


def frames_page() -> AppTest:
    return AppTest.from_file(str(ROOT / "ui" / "views" / "frames.py"), default_timeout=TIMEOUT).run()


def submit(at: AppTest, **values) -> AppTest:
    """Fill the 新建框架 form (defaults: a valid 专题 frame) and press 保存框架."""
    values = {"fr_name": NAME, "fr_types": ["支部"], "fr_year": 2026, "fr_aspects": ASPECTS,
              "fr_sections": ["反面典型案例剖析"], "fr_theme": "学查改"} | values
    for key, value in values.items():
        widget = at.multiselect(key=key) if key in ("fr_types", "fr_sections") else \
            at.number_input(key=key) if key == "fr_year" else \
            at.checkbox(key=key) if key == "fr_replace" else \
            at.text_area(key=key) if key == "fr_aspects" else at.text_input(key=key)
        widget.set_value(value)
    next(b for b in at.button if b.label == "保存框架").click().run()
    return at


def expander_labels(at: AppTest) -> list[str]:
    return [e.label for e in at.expander]


def test_page_lists_builtin_frames_and_explains_empty_user_list():
    at = frames_page()
    assert not at.exception
    assert [t.value for t in at.title] == ["会议框架"]
    labels = expander_labels(at)
    assert all(f.name in labels for f in builtin_frames())
    subheaders = [s.value for s in at.subheader]
    assert f"内置框架（{len(builtin_frames())} 个）" in subheaders and "自建框架（0 个）" in subheaders
    assert any("还没有自建框架" in c.value for c in at.caption)
    shown = "\n".join(m.value for m in at.markdown)
    assert "在强化政治忠诚、提高政治能力上带头方面" in shown  # aspects of the 2025 frame are listed


def test_new_frame_is_saved_shown_and_listed():
    at = submit(frames_page())
    assert not at.exception and not at.error
    assert [s.value for s in at.success] == [f"已保存框架“{NAME}”（编号 2026-xxjyztzzshh）"]
    frame = get_frame("2026-xxjyztzzshh")
    assert frame.name == NAME and frame.meeting_types == ["支部"] and frame.required_sections == ["反面典型案例剖析"]
    assert (get_settings().data_dir / "frames" / "2026-xxjyztzzshh.yaml").is_file()
    assert any("frame: 2026-xxjyztzzshh" in c.value for c in at.caption)  # how to use it
    assert any("在服务群众上带头" in w.value and "没有说明" in w.value for w in at.warning)
    code = yaml.safe_load(at.code[0].value)
    assert code["id"] == "2026-xxjyztzzshh" and len(code["aspects"]) == 2
    assert "自建框架（1 个）" in [s.value for s in at.subheader]
    assert NAME in expander_labels(at)
    shown = "\n".join(m.value for m in at.markdown)
    assert "对照党章党规，查找政治功能方面的差距——三会一课、党员教育管理" in shown


@pytest.mark.parametrize(("values", "message"), [
    ({"fr_name": "学习教育专题会"}, "没有写明是民主生活会还是组织生活会"),
    ({"fr_aspects": ""}, "还没有填写检视方面"),
    ({"fr_types": []}, "请至少选择一种材料类型"),
    ({"fr_id": "我的框架"}, "不合格式"),
])
def test_bad_input_shows_chinese_error_and_saves_nothing(values, message):
    at = submit(frames_page(), **values)
    assert not at.exception
    assert any(message in e.value for e in at.error)
    assert at.info  # the hint: what to do
    assert not at.success
    assert user_frames() == []


def test_builtin_id_is_refused():
    builtin = builtin_frames()[0]
    at = submit(frames_page(), fr_id=builtin.id, fr_replace=True)
    assert any("内置框架不能覆盖" in e.value for e in at.error)
    assert get_frame(builtin.id) == builtin
    assert user_frames() == []


def test_same_id_is_refused_then_replaced_when_ticked():
    at = submit(frames_page())
    at = submit(at, fr_theme="新主题")
    assert any("已经有编号为“2026-xxjyztzzshh”的自建框架" in e.value for e in at.error)
    assert get_frame("2026-xxjyztzzshh").theme == "学查改"
    at = submit(at, fr_theme="新主题", fr_replace=True)
    assert at.success and get_frame("2026-xxjyztzzshh").theme == "新主题"


def test_user_frame_can_be_deleted():
    create_user_frame(NAME, ["支部"], 2026, ASPECTS)
    at = frames_page()
    assert "自建框架（1 个）" in [s.value for s in at.subheader]
    at.button(key="fr_del_2026-xxjyztzzshh").click().run()
    assert not at.exception
    assert any(f"已删除框架“{NAME}”" in s.value for s in at.success)
    assert "自建框架（0 个）" in [s.value for s in at.subheader]
    assert user_frames() == []


def test_app_navigation_reaches_the_frames_page():
    at = AppTest.from_file(str(ROOT / "ui" / "app.py"), default_timeout=TIMEOUT).run()
    at.switch_page("views/frames.py").run()
    assert not at.exception
    assert [t.value for t in at.title] == ["会议框架"]
