"""End to end in a real Chromium: a whole material drafted from an empty interview chat, and a 专题 frame the
user adds on the 新建框架 form used for an interview, a draft and a critique.

Same server as tests/test_ui_browser.py (``streamlit run ui/app.py`` on a free loopback port, ZHAOJING_LLM=fake
with the cooperative scripted drafter, a throwaway data dir), so drafting is deterministic and quick. Writes
screenshots/interview.png (the chat mid-way), screenshots/frame-form.png (the form filled in) and
screenshots/zhuanti-draft.png (the 专题 draft).
"""

from __future__ import annotations

import re

from playwright.sync_api import expect
from test_ui_browser import SHOTS, _open, _shot, browser, page, pytestmark, server  # noqa: F401  (fixtures, marks)

from rag.frames import get_frame

CHAT = "回答问题；“跳过”略过这一方面，“结束”停止采集"  # the interview's chat input placeholder
UNIT = "岚溪县农业农村局领导班子"
POLITICS = "2025年4月市里部署农村人居环境整治三年行动，我局到7月才制定落实方案，比要求晚了3个月。来源：县委督查室通报"
VAGUE = "党性修养还需要进一步加强"
PARTY = "2025年局机关支部开了10次主题党日，班子成员平均只参加了4次"

ZT_NAME = "2026年学习教育专题组织生活会"
ZT_ID = "2026-xxjyztzzshh"
ZT_UNIT = "岚溪县农业农村局机关第一党支部"
ZT_ASPECTS = ("对照党章党规，查找支部政治功能和组织力方面的差距｜政治功能、组织力、三会一课｜三会一课、党员教育管理\n"
              "结合顽瘴痼疾，查找工作推动方面的差距｜工作推动、顽瘴痼疾｜重点任务、项目推进\n"
              "梳理队伍建设现状，查找队伍管理方面的差距｜队伍管理、队伍建设｜党员管理、干部队伍")
ZT_HEADINGS = ["对照党章党规，查找支部政治功能和组织力方面的差距", "结合顽瘴痼疾，查找工作推动方面的差距",
               "梳理队伍建设现状，查找队伍管理方面的差距"]
ZT_MEETINGS = "2025年支部计划开展“三会一课”24次，实际只开了17次，其中5次党课由委员照本宣科。来源：支部会议记录"
ZT_FARMLAND = "2025年高标准农田项目计划建成8000亩，到11月底只完成5200亩，支部2次专题研究都没拿出办法。来源：县政府督查通报"

DRAFT_TIMEOUT = 240_000  # the scripted drafter is quick, but the machine has 2 shared cores


def start_interview(pg, url: str) -> None:
    """The 起草 page in 对话采集事实 mode, with a new (empty) interview."""
    _open(pg, url, "起草")
    pg.get_by_text("对话采集事实", exact=True).click()
    expect(last_message(pg)).to_contain_text("这次要写哪一种材料", timeout=60_000)
    assert pg.locator('[data-testid="stChatMessage"]').count() == 2  # the intro and the first question only
    assert "interview=" in pg.url


def last_message(pg):
    return pg.locator('[data-testid="stChatMessage"]').last


def say(pg, reply: str, expect_reply: str) -> None:
    """Type one reply into the interview chat and wait for the assistant's answer containing ``expect_reply``."""
    box = pg.get_by_placeholder(CHAT)
    box.fill(reply)
    box.press("Enter")
    expect(last_message(pg)).to_contain_text(expect_reply, timeout=60_000)


def draft_from_chat(pg) -> str:
    """Click 用这些事实起草 and return the finished draft's text (once it is critiqued: 批改得分 shown)."""
    pg.get_by_role("button", name="用这些事实起草").click()
    pg.get_by_text("批改得分").wait_for(timeout=DRAFT_TIMEOUT)
    text = pg.locator(".zj-draft").inner_text()
    assert "正在撰写" not in text
    assert pg.locator('[data-testid="stException"]').count() == 0
    return text


def view_shot(pg, name: str, height: int = 1150) -> None:
    """A screenshot of the top of the page only (the chat is a fixed-height box: a full-page shot is mostly blank)."""
    pg.set_viewport_size({"width": 1440, "height": height})
    pg.wait_for_timeout(800)
    path = SHOTS / f"{name}.png"
    pg.screenshot(path=str(path))
    assert path.stat().st_size > 10_000


def test_whole_material_drafted_from_an_empty_interview_chat(server, page):  # noqa: F811
    start_interview(page, server)
    say(page, "班子", "这是哪一年度的会")
    say(page, "2025", "单位全称是什么")
    frame = get_frame("2025-minzhu-wugedaitou")
    n = len(frame.aspects) + len(frame.required_sections)  # the required parts are asked about after the aspects
    say(page, UNIT, "会前准备做了多少")
    say(page, "学习研讨4次，谈心谈话15人次", "还差征求意见条数")  # a figure not given is asked for
    say(page, "征求意见9条", "会议定在哪一天")
    say(page, "2026年1月22日", f"（1/{n}）{frame.aspects[0].name}")
    say(page, POLITICS, "还有别的事例吗")
    say(page, "下一个", f"（2/{n}）{frame.aspects[1].name}")
    say(page, VAGUE, "还比较笼统")  # a vague answer gets its one follow-up
    page.get_by_text("已采集的事实（1 条）").wait_for()
    view_shot(page, "interview")
    say(page, PARTY, "还有别的事例吗")
    say(page, "结束", "共记下2条事实")
    page.get_by_text("已采集的事实（2 条）").wait_for()

    text = draft_from_chat(page)
    title = text.splitlines()[0]
    assert title.startswith(UNIT) and "2025年度民主生活会" in title
    assert "会前开展学习研讨4次、谈心谈话15人次、征求意见建议9条" in text  # the opening has the figures told
    for aspect in frame.aspects:  # every aspect of the chosen frame is a heading, answered or not
        assert aspect.heading in text, aspect.heading
    assert "农村人居环境整治" in text and "比要求晚了3个月" in text  # the user's facts, as told
    assert "主题党日" in text and "平均只参加了4次" in text
    assert page.locator(".zj-draft mark.gap").count() >= len(frame.aspects) - 2  # no fact: marked, not made up
    assert "draft=" in page.url and "interview=" in page.url

    page.reload()  # the interview and its draft survive a refresh
    page.locator(".zj-draft").wait_for(timeout=60_000)
    expect(last_message(page)).to_contain_text("共记下2条事实", timeout=60_000)
    assert page.locator('[data-testid="stChatMessage"]').filter(has_text="主题党日").count() >= 1
    assert page.locator(".zj-draft").inner_text().splitlines()[0] == title


def test_zhuanti_frame_added_on_the_form_drafts_and_critiques(server, page):  # noqa: F811
    # 1. the 新建框架 form
    _open(page, f"{server}/frames", "会议框架")
    page.get_by_role("textbox", name="会议名称").fill(ZT_NAME)
    page.get_by_role("spinbutton", name="年度").fill("2026")
    page.get_by_role("textbox", name="主题（可不填）").fill("学查改")
    page.get_by_role("textbox", name="检视方面（每行一个）").fill(ZT_ASPECTS)
    _shot(page, "frame-form")
    page.get_by_role("button", name="保存框架").click()
    page.get_by_text(f"已保存框架“{ZT_NAME}”（编号 {ZT_ID}）").wait_for(timeout=30_000)

    # 2. an interview in that frame, from an empty chat
    start_interview(page, server)
    say(page, "支部", ZT_NAME)  # the new frame is offered in the menu
    say(page, ZT_NAME, "单位全称是什么")
    assert page.locator('[data-testid="stChatMessage"]').filter(has_text=f"按“{ZT_NAME}”的3个方面来问").count() == 1
    say(page, ZT_UNIT, "会前准备做了多少")
    say(page, "跳过", "会议定在哪一天")
    say(page, "跳过", f"（1/3）{ZT_HEADINGS[0]}")
    say(page, ZT_MEETINGS, "还有别的事例吗")
    say(page, "下一个", f"（2/3）{ZT_HEADINGS[1]}")
    say(page, ZT_FARMLAND, "还有别的事例吗")
    say(page, "结束", "共记下2条事实")

    text = draft_from_chat(page)
    lines = text.splitlines()
    assert lines[0] == f"{ZT_UNIT}{ZT_NAME}对照检查材料"  # a 专题组织生活会 stays 专题组织生活会
    assert "民主生活会" not in text and "年度组织生活会" not in text
    for number, heading in zip("一二三", ZT_HEADINGS, strict=True):
        assert f"（{number}）{heading}" in lines, heading
    assert not re.search(r"差距方面|方面方面|差距的差距", text)  # no doubled words in the headings
    assert "实际只开了17次" in text and "只完成5200亩" in text
    assert page.locator(".zj-draft mark.gap").count() >= 1  # 队伍管理 was never answered
    _shot(page, "zhuanti-draft")

    # 3. the draft critiqued on the 批改 page in the user's frame
    _open(page, f"{server}/critique", "批改")
    page.get_by_label("粘贴草稿").fill(text)
    page.locator('[data-testid="stSelectbox"]').filter(has_text="会议框架").click()
    page.get_by_role("option", name=ZT_NAME, exact=True).click()
    page.get_by_role("button", name="批改", exact=True).click()
    page.get_by_text("问题清单").wait_for(timeout=60_000)
    assert page.get_by_text(f"框架：{ZT_NAME}").count() >= 1  # the picked frame is the one used
    assert page.get_by_text("问题部分的方面标题不是本年度框架的表述").count() == 0
    assert page.get_by_text("缺少“问题、原因、措施”三大部分").count() == 0
    assert page.locator('[data-testid="stException"]').count() == 0
