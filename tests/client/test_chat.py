"""Chat over real HTTPS against the emulator: what a user sends arrives, and the answer comes back whole."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from gigachat_mcp import ChatChunk, GigaChat, InvalidRequestError
from gigachat_mcp.emulator import Emulator
from tests.helpers import async_client, sync_client

pytestmark = pytest.mark.anyio


def test_chat_answers_through_oauth_and_the_ca_file(emulator: Emulator) -> None:
    with GigaChat(**emulator.client_settings()) as giga:
        result = giga.chat("Hello, GigaChat")
    assert result.text.startswith('GigaChat emulator (GigaChat-2) heard: "Hello, GigaChat".')
    assert result.model == "GigaChat-2:2.0.28.2"
    assert result.finish_reason == "stop"
    assert result.usage.prompt_tokens == 3  # "Hello", ",", "GigaChat"
    assert result.usage.total_tokens == result.usage.prompt_tokens + result.usage.completion_tokens
    oauth = emulator.requests_to("oauth")[0]
    assert oauth.headers["authorization"] == "Basic ***"
    assert len(oauth.headers["rquid"]) == 36
    assert oauth.body == "scope=GIGACHAT_API_PERS"
    assert emulator.requests_to("chat")[0].headers["authorization"] == "Bearer ***"


def test_a_plain_chat_loads_none_of_the_bulk_machinery(emulator: Emulator) -> None:
    """Start-up and a plain chat() pay nothing for map(): neither the bulk modules nor sqlite3 are loaded."""
    code = ("import sys; from gigachat_mcp import AsyncGigaChat, GigaChat\n"
            "with GigaChat() as giga: print(giga.chat('Hi').text[:17])\n"
            "print(sorted(m for m in sys.modules if m == 'sqlite3' or m.startswith('gigachat_mcp.client._bulk')))")
    env = {**os.environ, **emulator.env()}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert out.splitlines() == ["GigaChat emulator", "[]"]


def test_environment_alone_configures_the_client(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in emulator.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GIGACHAT_MODEL", "GigaChat-2-Max")
    with GigaChat() as giga:
        assert "(GigaChat-2-Max) heard" in giga.chat("hi").text


def test_history_system_prompt_and_options_reach_the_api(giga: GigaChat, emulator: Emulator) -> None:
    history = [
        {"role": "user", "content": "My name is Ada."},
        {"role": "assistant", "content": "Nice to meet you, Ada."},
        {"role": "user", "content": "What is my name?"},
    ]
    result = giga.chat(history, system="Answer in one word.", model="GigaChat-2-Pro", temperature=0.3,
                       top_p=0.9, max_tokens=300, repetition_penalty=1.1, profanity_check=True)
    assert "Roles: system,user,assistant,user." in result.text
    assert 'System prompt: "Answer in one word."' in result.text
    assert 'Previous user message: "My name is Ada."' in result.text
    assert "temperature=0.3, top_p=0.9, max_tokens=300, repetition_penalty=1.1, profanity_check=True" in result.text
    sent = emulator.requests_to("chat")[-1].body
    assert sent["model"] == "GigaChat-2-Pro"
    assert sent["messages"][0] == {"role": "system", "content": "Answer in one word."}
    assert sent["stream"] is False


def test_extra_fields_pass_through_and_unicode_survives(giga: GigaChat, emulator: Emulator) -> None:
    result = giga.chat("Привет, мир", extra={"flags": ["no-cache"]})
    assert 'heard: "Привет, мир"' in result.text
    assert emulator.requests_to("chat")[-1].body["flags"] == ["no-cache"]


def test_max_tokens_truncates_with_finish_reason_length(giga: GigaChat) -> None:
    result = giga.chat("tell me everything [emulator words=50]", max_tokens=5)
    assert result.finish_reason == "length"
    assert result.usage.completion_tokens == 5


@pytest.mark.parametrize("api_version", ["v1", "v2"])
def test_sync_stream_hands_out_every_chunk_in_order(emulator: Emulator, api_version: str) -> None:
    with sync_client(emulator, api_version=api_version) as giga:
        whole = giga.chat("count [emulator words=40]").text
        chunks = list(giga.stream("count [emulator words=40]"))
    assert len(chunks) > 20
    assert "".join(c.text for c in chunks) == whole
    assert all(c.text for c in chunks[:-1])
    assert chunks[-1].finish_reason == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 40
    assert all(c.finish_reason is None for c in chunks[:-1])
    path = emulator.requests_to("chat")[-1].path
    assert path == ("/v2/chat/completions" if api_version == "v2" else "/v1/chat/completions")


@pytest.mark.parametrize("api_version", ["v1", "v2"])
async def test_async_stream_hands_out_every_chunk_in_order(emulator: Emulator, api_version: str) -> None:
    async with async_client(emulator, api_version=api_version) as giga:
        whole = (await giga.chat("count [emulator words=40]")).text
        chunks: list[ChatChunk] = [chunk async for chunk in giga.stream("count [emulator words=40]")]
        assert "".join(c.text for c in chunks) == whole
        assert chunks[-1].finish_reason == "stop" and chunks[-1].usage is not None


def test_v2_sends_the_v2_contract(emulator: Emulator) -> None:
    with sync_client(emulator, api_version="v2") as giga:
        result = giga.chat("hi", system="sys", temperature=0.7, max_tokens=100, profanity_check=False)
    sent = emulator.requests_to("chat")[-1].body
    assert sent["messages"][1] == {"role": "user", "content": [{"text": "hi"}]}
    assert sent["model_options"] == {"temperature": 0.7, "max_tokens": 100}
    assert sent["disable_filter"] is True
    assert 'System prompt: "sys"' in result.text
    assert result.usage.prompt_tokens == 2


def test_legacy_base_url_paths_work(emulator: Emulator) -> None:
    with sync_client(emulator, base_url=emulator.legacy_base_url) as giga:
        assert giga.chat("legacy").finish_reason == "stop"
        assert [c.text for c in giga.stream("legacy")][-1] == ""
    assert {r.path for r in emulator.requests_to("chat")} == {"/api/v1/chat/completions"}


def test_user_and_password_flow(emulator: Emulator) -> None:
    with sync_client(emulator, credentials=None, user=emulator.user, password=emulator.password) as giga:
        assert giga.settings.auth_method == "password"
        assert "heard" in giga.chat("hi").text
    assert emulator.requests_to("token")[0].headers["authorization"] == "Basic ***"


def test_ready_access_token_is_used_as_is(emulator: Emulator) -> None:
    with sync_client(emulator) as giga:  # obtain a real token from the emulator first
        token = giga._auth.header().removeprefix("Bearer ")
    calls = emulator.oauth_calls
    with sync_client(emulator, credentials=None, access_token=token) as giga:
        assert "heard" in giga.chat("hi").text
    assert emulator.oauth_calls == calls


def test_mtls_client_certificate_alone_authenticates(tmp_path) -> None:
    with Emulator(accept_client_certs=True) as emu:
        certs = emu.certificates
        with GigaChat(base_url=emu.base_url, ca_bundle_file=emu.ca_file, cert_file=str(certs.client_cert),
                      key_file=str(certs.client_key)) as giga:
            assert giga.settings.auth_method == "mtls"
            assert "heard" in giga.chat("over mTLS").text
        assert emu.oauth_calls == 0
        assert "authorization" not in emu.requests_to("chat")[0].headers


def test_models_tokens_embeddings_and_balance(giga: GigaChat) -> None:
    models = giga.models()
    assert {"GigaChat-2", "GigaChat-2-Max", "Embeddings"} <= {m.id for m in models}
    assert next(m for m in models if m.id == "Embeddings").type == "embedder"
    counts = giga.count_tokens(["hello world", "Привет"])
    assert [(c.tokens, c.characters) for c in counts] == [(2, 11), (1, 6)]
    vectors = giga.embeddings(["a", "b", "a"])
    assert len(vectors) == 3 and vectors[0] == vectors[2] != vectors[1]
    assert giga.balance()["GigaChat-2"] == 1_000_000


async def test_async_models_tokens_embeddings_and_balance(emulator: Emulator) -> None:
    async with async_client(emulator) as giga:
        assert "GigaChat-2" in {m.id for m in await giga.models()}
        assert (await giga.count_tokens("hello world"))[0].tokens == 2
        assert len((await giga.embeddings("x"))[0]) == 32
        assert "GigaChat-2" in await giga.balance()


@pytest.mark.parametrize(
    ("prompt", "kwargs", "fragment"),
    [
        ([], {}, "messages is empty"),
        ([{"role": "robot", "content": "x"}], {}, "role 'robot'"),
        ([{"role": "system", "content": "a"}], {"system": "b"}, "either as system="),
        ([{"role": "user", "content": "a"}, {"role": "system", "content": "b"}], {}, "must come first"),
        ("hi", {"temperature": -1}, "temperature must be at least 0"),
        ("hi", {"top_p": 1.5}, "top_p must be at least 0.0 and at most 1.0"),
        ("hi", {"max_tokens": 0}, "max_tokens must be a whole number"),
        ("hi", {"repetition_penalty": 0}, "repetition_penalty must be above 0"),
        ("hi", {"temperature": True}, "temperature must be a finite number, not True"),
        ("hi", {"temperature": float("nan")}, "temperature must be a finite number, not nan"),
        ("hi", {"top_p": "0.5"}, "top_p must be a finite number, not '0.5'"),
        ("hi", {"max_tokens": 2.0}, "max_tokens must be a whole number of 1 or more, not 2.0"),
        (42, {}, "prompt must be a str"),
    ],
)
def test_bad_arguments_are_rejected_before_sending(giga: GigaChat, emulator: Emulator, prompt, kwargs,
                                                   fragment: str) -> None:
    with pytest.raises(InvalidRequestError, match=fragment.replace("(", r"\(")):
        giga.chat(prompt, **kwargs)
    assert emulator.requests_to("chat") == []


async def test_async_client_leaves_the_event_loop_only_to_fetch_a_token(emulator: Emulator,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    hops: list[object] = []
    real_to_thread = asyncio.to_thread

    async def counting_to_thread(function, *args, **kwargs):
        hops.append(function)
        return await real_to_thread(function, *args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", counting_to_thread)
    async with async_client(emulator) as giga:
        for i in range(5):
            await giga.chat(f"oauth {i}")
        token = giga._auth.header().removeprefix("Bearer ")
    assert len(hops) == 1  # the one token fetch; every later request checks the token without a thread hop
    async with async_client(emulator, credentials=None, access_token=token) as giga:
        for i in range(5):
            await giga.chat(f"ready token {i}")
    assert len(hops) == 1


@pytest.mark.parametrize(("setting", "argument", "sent"), [(True, None, True), (True, False, False),
                                                           (None, True, True), (None, None, None)])
def test_profanity_check_setting_is_the_default_and_the_argument_wins(emulator: Emulator, setting: bool | None,
                                                                      argument: bool | None,
                                                                      sent: bool | None) -> None:
    with sync_client(emulator, profanity_check=setting) as giga:
        giga.chat("hi", profanity_check=argument)
    body = emulator.requests_to("chat")[-1].body
    assert body.get("profanity_check") == sent and ("profanity_check" in body) == (sent is not None)


def test_edge_values_are_sent_as_given(giga: GigaChat, emulator: Emulator) -> None:
    """The lowest temperature and top_p, the top of top_p and the smallest max_tokens are all allowed."""
    giga.chat("hi", temperature=0, top_p=1, max_tokens=1, repetition_penalty=0.01)
    body = emulator.requests_to("chat")[-1].body
    assert (body["temperature"], body["top_p"], body["max_tokens"], body["repetition_penalty"]) == (0, 1, 1, 0.01)
    giga.chat("hi", top_p=0)
    assert emulator.requests_to("chat")[-1].body["top_p"] == 0
