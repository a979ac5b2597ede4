"""Redaction before remote model calls: detection, placeholders, restoration, and the wrapper end to end
through the real ChatOpenAI client against the recording FakeOpenAIServer."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI
from pydantic import BaseModel

from rag.config import Settings, get_settings
from rag.draft.facts import facts_from_dict
from rag.embed import FakeEmbedder
from rag.llm import get_chat_model, invoke_text, stream_text, structured_call
from rag.llm.fake import FakeChatModel
from rag.llm.redacting import RedactingChatModel
from rag.llm.testing_server import FakeOpenAIServer
from rag.redact import Redactor, clear_registered_names, current_names, find_sensitive, redaction_names

# Fictional people and numbers, written for these tests.
SEEDED = {
    "names": ["欧阳明远", "韩秀英", "林晓雯"],
    "phone": "13905718826",
    "landline": "0571-86021735",
    "id": "330106198703152418",
    "email": "hanxy@lanxi-wenlv.example.cn",
}
TEXT = (
    f"2025年9月，韩秀英同志反映，局长林晓雯分管的景区工程没有经过集体研究；欧阳明远书记要求整改。"
    f"联系人手机 {SEEDED['phone']}，办公电话 {SEEDED['landline']}，身份证号 {SEEDED['id']}，"
    f"邮箱 {SEEDED['email']}。"
)


def _leaks(payload: object) -> list[str]:
    dumped = json.dumps(payload, ensure_ascii=False)
    values = [*SEEDED["names"], SEEDED["phone"], SEEDED["landline"], SEEDED["id"], SEEDED["email"]]
    return [v for v in values if v in dumped]


@pytest.fixture(autouse=True)
def _no_registered_names():
    clear_registered_names()
    yield
    clear_registered_names()


# --------------------------------------------------------------------------- detection


def test_every_kind_is_replaced_and_restored():
    redactor = Redactor()
    redacted = redactor.redact(TEXT)
    assert _leaks(redacted) == []
    assert {"〔人名1〕", "〔人名2〕", "〔人名3〕", "〔电话1〕", "〔电话2〕", "〔证件号1〕", "〔邮箱1〕"} <= set(
        redactor.mapping
    )
    assert redactor.restore(redacted) == TEXT


def test_same_value_same_placeholder_across_texts():
    redactor = Redactor(names=["韩秀英"])
    first = redactor.redact("韩秀英提出意见，电话13905718826。")
    second = redactor.redact("请韩秀英复核，回电13905718826，另抄送韩秀英。")
    assert first == "〔人名1〕提出意见，电话〔电话1〕。"
    assert second == "请〔人名1〕复核，回电〔电话1〕，另抄送〔人名1〕。"


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("王建国同志在会上带头发言。", "王建国"),
        ("会议由局长李明主持。", "李明"),
        ("张伟书记主持会议。", "张伟"),
        ("副书记周海燕说要抓落实。", "周海燕"),
        ("王志强同志负责牵头。", "王志强"),
    ],
)
def test_name_patterns(text, name):
    assert [s.value(text) for s in find_sensitive(text)] == [name]


@pytest.mark.parametrize(
    "text",
    [
        "常务副局长主持会议，全体同志参加，党委书记带头，办公室主任负责，分管副局长牵头。",
        "部分同志、个别同志、老同志、广大党员同志、基层同志、领导同志都参加了。",
        "纪委书记、组织部长参加，县委书记调研，支部书记述职，宣传委员和组织委员列席。",
        "2025年11月征求意见汇总第4条：演出48场，19场安排在农忙时节，观众不足30人。",
        "整改台账编号2026-0015，文件号岚文旅〔2025〕12号，电话会议于2025年12月3日召开。",
    ],
)
def test_ordinary_text_is_left_alone(text):
    redactor = Redactor()
    assert redactor.redact(text) == text
    assert redactor.mapping == {}


def test_given_names_beat_patterns_and_short_names_are_ignored():
    redactor = Redactor(names=["林晓雯", "王", " "])
    assert redactor.names == ["林晓雯"]
    assert redactor.redact("林晓雯、王某参加") == "〔人名1〕、王某参加"


def test_restore_accepts_placeholders_rewritten_by_the_model():
    redactor = Redactor(names=["韩秀英"])
    redactor.redact("韩秀英")
    assert redactor.restore("[人名1]、【人名 1】和〔人名1〕") == "韩秀英、韩秀英和韩秀英"
    assert redactor.restore("〔人名9〕不在映射中") == "〔人名9〕不在映射中"


def test_placeholder_looking_input_is_never_reused():
    redactor = Redactor(names=["韩秀英"])
    text = "原文里本来就有〔人名1〕和[人名2]，韩秀英也在。"
    redacted = redactor.redact(text)
    assert "〔人名3〕" in redacted
    assert redactor.restore(redacted) == text


def test_names_from_context_and_from_loaded_facts():
    with redaction_names(["韩秀英"]):
        with redaction_names(["林晓雯"]):
            assert set(current_names()) == {"韩秀英", "林晓雯"}
        assert current_names() == ["韩秀英"]
    assert current_names() == []
    facts_from_dict({
        "unit": "岚溪县文化广电旅游体育局", "meeting_type": "个人", "year": 2025,
        "writer": {"name": "欧阳明远", "role": "副局长"},
        "facts": [{"id": "F1", "category": "征求意见", "text": "群众反映办事慢", "people": ["韩秀英"]}],
    })
    assert set(current_names()) == {"欧阳明远", "韩秀英"}


# --------------------------------------------------------------------------- properties

NAMES = st.lists(st.text(min_size=1, max_size=5), max_size=4)
PIECES = st.sampled_from(
    ["王建国同志", "局长李明", "13905718826", "0571-86021735", "330106198703152418", "a.b@example.cn", "〔人名1〕",
     "[电话2]", "【邮箱", "〕", "同志", "，", "书记", "韩秀英"]
)
TEXTS = st.lists(st.one_of(st.text(max_size=12), PIECES), max_size=12).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=TEXTS, names=NAMES)
def test_round_trip_for_any_text(text, names):
    redactor = Redactor(names=names, use_context=False)
    assert redactor.restore(redactor.redact(text)) == text


@settings(max_examples=200, deadline=None)
@given(text=TEXTS, cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=8))
def test_streamed_restore_equals_whole_restore(text, cuts):
    redactor = Redactor(names=["韩秀英"], use_context=False)
    answer = redactor.redact(text) + "【人名" + redactor.redact(text)
    bounds = sorted({min(c, len(answer)) for c in cuts} | {0, len(answer)})
    restorer = redactor.stream_restorer()
    streamed = "".join(restorer.feed(answer[a:b]) for a, b in zip(bounds, bounds[1:], strict=False))
    assert streamed + restorer.flush() == redactor.restore(answer)


# --------------------------------------------------------------------------- the wrapper end to end


@pytest.fixture
def server():
    with FakeOpenAIServer(chunk_chars=1) as srv:
        yield srv


@pytest.fixture
def remote_env(server, monkeypatch):
    """Settings pointing at the fake server, treated as a remote endpoint."""
    monkeypatch.setenv("ZHAOJING_LLM", "openai")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
    monkeypatch.setattr(Settings, "is_remote", property(lambda self: True))
    get_settings.cache_clear()


def test_get_chat_model_wraps_remote_only(remote_env, monkeypatch):
    assert isinstance(get_chat_model(), RedactingChatModel)
    monkeypatch.setenv("ZHAOJING_REDACT_REMOTE", "false")
    get_settings.cache_clear()
    assert isinstance(get_chat_model(), ChatOpenAI)
    monkeypatch.undo()  # back to the real is_remote: a loopback endpoint is local, no wrapper needed
    settings = Settings(llm="openai", openai_base_url="http://127.0.0.1:9/v1", openai_api_key="k")
    assert isinstance(get_chat_model(settings), ChatOpenAI)


def test_invoke_sends_no_personal_data_and_restores_answer(server, remote_env):
    model = get_chat_model()
    answer = invoke_text(model, [SystemMessage(content="你是助手"), HumanMessage(content=TEXT)])
    assert server.requests and _leaks(server.requests) == []
    assert answer == f"收到：{TEXT}"  # the server echoed placeholders; the originals came back


def test_stream_restores_placeholders_split_across_chunks(server, remote_env):
    pieces = list(stream_text(get_chat_model(), TEXT))
    assert len(pieces) > 20  # one character per chunk: placeholders were split on the wire
    assert _leaks(server.requests) == []
    assert "".join(pieces) == f"收到：{TEXT}"


def test_json_answer_is_restored_inside_strings(server, remote_env):
    class Note(BaseModel):
        who: str
        phone: str

    def responder(messages):
        user = messages[-1]["content"]
        return json.dumps({"who": "〔人名1〕" if "〔人名1〕" in user else "无", "phone": "〔电话1〕"}, ensure_ascii=False)

    server.responder = responder
    with redaction_names(["韩秀英"]):
        note = structured_call(get_chat_model(), "韩秀英的电话是13905718826，请整理。", Note, on_token=lambda _: None)
    assert note == Note(who="韩秀英", phone="13905718826")
    assert _leaks(server.requests) == []


def test_draft_pipeline_through_remote_model_leaks_nothing(server, remote_env):
    from rag.draft.pipeline import draft_from_facts
    from rag.draft.render import to_markdown

    answers = {"问题定性": "回应群众诉求还不够及时",
               "原因剖析": "班子认为按程序答复就算尽责，没有把群众的事当成自己的事",
               "整改动作": "建立群众来电答复台账，逐件回访答复", "改写成": "〔人名1〕反映的问题拖了两个月才答复"}

    def responder(messages):
        system = messages[0]["content"]
        return next((v for k, v in answers.items() if k in system), "A")

    server.responder = responder
    facts = facts_from_dict({
        "unit": "岚溪县文化广电旅游体育局", "meeting_type": "班子", "year": 2025, "meeting_date": "2026-01-15",
        "facts": [{"id": "F1", "category": "征求意见", "text": f"{TEXT}答复拖了两个月。",
                   "people": ["韩秀英", "欧阳明远", "林晓雯"]}],
    })
    draft = draft_from_facts(facts, get_chat_model(), embedder=FakeEmbedder())
    assert len(server.requests) >= 3
    assert _leaks(server.requests) == []
    text = to_markdown(draft)
    assert "答复拖了两个月" in text and "韩秀英" not in text  # the fact is used; the colleague is not named
    sent = json.dumps(server.requests, ensure_ascii=False)
    assert "答复拖了两个月" in sent  # the facts did reach the remote model, without the names


def test_wrapper_passes_kwargs_and_errors_through():
    inner = FakeChatModel(responses=["〔人名1〕好", ValueError("boom")])
    model = RedactingChatModel(inner=inner)
    with redaction_names(["韩秀英"]):
        assert model.invoke("韩秀英你好", stop=["。"]).content == "韩秀英好"
    assert inner.history[0][0].content == "〔人名1〕你好"
    assert inner.calls[0]["stop"] == ["。"]
    with pytest.raises(ValueError, match="boom"):
        model.invoke("再来")
