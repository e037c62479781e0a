"""The prompts a user picks from the host's menu, listed and filled in through the SDK's own Client."""

from __future__ import annotations

import pytest
from mcp import Client, MCPError, types

from gigachat_mcp.emulator import Emulator
from gigachat_mcp.server import build_server
from tests.server.test_server import ERAS, settings_for

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("mode", ERAS)
async def test_prompts_are_listed_with_typed_arguments(emulator: Emulator, mode: str) -> None:
    async with Client(build_server(settings_for(emulator)), mode=mode) as client:
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
    assert list(prompts) == ["second_opinion", "translate", "review_code_ru"]
    arguments = {name: {a.name: a.required for a in p.arguments or []} for name, p in prompts.items()}
    assert arguments == {
        "second_opinion": {"answer": True, "question": False, "focus": False, "model": False},
        "translate": {"text": True, "target_language": False, "register": False, "model": False},
        "review_code_ru": {"code": True, "language": False, "focus": False, "model": False},
    }
    for prompt in prompts.values():
        assert prompt.title and prompt.description
        assert all(a.description for a in prompt.arguments or [])
    assert "ru, en" in next(a.description for a in prompts["translate"].arguments if a.name == "target_language")


@pytest.mark.parametrize("mode", ERAS)
async def test_prompts_fill_in_a_request_to_gigachat(emulator: Emulator, mode: str) -> None:
    code = "def f(x):\n    return x```inside```"
    async with Client(build_server(settings_for(emulator)), mode=mode) as client:
        opinion = await client.get_prompt("second_opinion", {"answer": "Moscow is the capital of France.",
                                                             "question": "Capital of France?", "focus": "facts"})
        translation = await client.get_prompt("translate", {"text": "Hello, **world**", "target_language": "de",
                                                            "register": "formal"})
        review = await client.get_prompt("review_code_ru", {"code": code, "language": "python"})
    [message] = opinion.messages
    text = message.content.text
    assert message.role == "user" and "`chat` tool of the GigaChat server" in text
    assert "Moscow is the capital of France." in text and "Capital of France?" in text
    assert "второе мнение на русском" in text and "точность фактов и цифр" in text
    text = translation.messages[0].content.text
    assert "на немецкий язык" in text and "официальный" in text and "Hello, **world**" in text
    text = review.messages[0].content.text
    assert "ревью кода на python" in text and "ошибки, читаемость" in text
    # Code holding a fence is quoted in a longer one, so it cannot break out of the quote.
    assert f"````\n{code}\n````" in text


async def test_bad_prompt_arguments_are_refused(emulator: Emulator) -> None:
    async with Client(build_server(settings_for(emulator))) as client:
        for name, arguments, reason in [
            ("translate", {"text": "x", "target_language": "xx"}, "target_language: Input should be 'ru', 'en'"),
            ("translate", {"target_language": "ru"}, "the required argument 'text' is missing"),
            ("second_opinion", {}, "the required argument 'answer' is missing"),
            ("second_opinion", {"answer": "x", "focus": "vibes"}, "focus: Input should be 'all', 'facts'"),
            ("review_code_ru", {"code": "x", "language": "py<script>"}, "language: String should match pattern"),
        ]:
            with pytest.raises(MCPError) as caught:
                await client.get_prompt(name, arguments)
            assert caught.value.error.code == types.INVALID_PARAMS
            assert f"Bad arguments for prompt '{name}': {reason}" in caught.value.error.message
