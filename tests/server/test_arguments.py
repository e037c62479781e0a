"""What a calling model reads when its arguments are wrong: the tool names each bad argument in one sentence
(which argument, what was given, what is allowed), unknown names are refused with the right name suggested, and
nothing reaches GigaChat. Both protocol eras, through the SDK's own client."""

from __future__ import annotations

import logging

import pytest
from mcp import Client

from gigachat_mcp import Settings
from gigachat_mcp.emulator import Emulator
from gigachat_mcp.server import build_server
from gigachat_mcp.server.arguments import ArgumentProblem, check

pytestmark = pytest.mark.anyio
ERAS = ["auto", "legacy"]


def server_for(emulator: Emulator):
    return build_server(Settings.resolve(environ={}, **emulator.client_settings(retry_backoff_factor=0.01)))


async def call(emulator: Emulator, arguments: dict, tool: str = "chat", mode: str = "auto"):
    async with Client(server_for(emulator), mode=mode) as client:
        return await client.call_tool(tool, arguments)


def lines(result) -> list[str]:
    """The sentences of an argument error, one per bad argument."""
    assert result.is_error
    text = result.content[0].text
    assert "pydantic" not in text and "validation error for" not in text and "http" not in text
    return [line[2:] for line in text.splitlines() if line.startswith("- ")]


@pytest.mark.parametrize("mode", ERAS)
@pytest.mark.parametrize(("arguments", "sentence"), [
    ({"prompt": "hi", "conversationId": "0123456789abcdef"},
     "`conversationId` is not an argument of chat; did you mean `conversation_id`?"),
    ({"prompt": "hi", "sytem": "Be terse."}, "`sytem` is not an argument of chat; did you mean `system`?"),
    ({"prompt": "hi", "colour": "blue"}, "`colour` is not an argument of chat; its arguments are `prompt`, "),
])
async def test_unknown_arguments_are_refused_with_the_right_name(emulator: Emulator, mode: str, arguments: dict,
                                                                 sentence: str) -> None:
    result = await call(emulator, arguments, mode=mode)
    [line] = lines(result)
    assert line.startswith(sentence)
    assert result.content[0].text.startswith("The chat tool was not run: 1 argument to fix.")
    assert emulator.requests_to("chat") == []  # no new conversation started, no system prompt lost


@pytest.mark.parametrize("value", ["yes", "1", 1, 0, "on", "", [True]])
async def test_background_takes_only_booleans(emulator: Emulator, value) -> None:
    [line] = lines(await call(emulator, {"prompt": "hi", "background": value}))
    assert line.startswith("`background` must be true or false; got ")
    assert emulator.requests_to("chat") == []


async def test_booleans_and_numbers_sent_as_text_by_claude_hosts_are_accepted(emulator: Emulator) -> None:
    """Claude Code and Desktop send every argument as text (anthropics/claude-code#32524, #29104)."""
    result = await call(emulator, {"prompt": "hi", "background": "false", "temperature": "0.3",
                                   "max_tokens": "200"})
    assert not result.is_error and result.structured_content["status"] == "done"
    sent = emulator.requests_to("chat")[-1].body
    assert sent["temperature"] == 0.3 and sent["max_tokens"] == 200
    background = await call(emulator, {"prompt": "hi", "background": "true"})
    assert background.structured_content["status"] == "streaming"


@pytest.mark.parametrize(("arguments", "sentence"), [
    ({"prompt": "hi", "temperature": 5}, "`temperature` must be a number from 0 to 2 (or null for the default); got 5."),
    ({"prompt": "hi", "temperature": True}, "`temperature` must be a number from 0 to 2 (or null for the default); "
                                            "got true."),
    ({"prompt": "hi", "temperature": "hot"}, '`temperature` must be a number from 0 to 2 (or null for the default); '
                                             'got the text "hot".'),
    ({"prompt": "hi", "max_tokens": 0}, "`max_tokens` must be a whole number from 1 to 32768 (or null for the "
                                        "default); got 0."),
    ({"prompt": ""}, "`prompt` must be text of 1 to 200,000 characters; got empty text."),
    ({"prompt": "x" * 200_001}, "`prompt` must be text of 1 to 200,000 characters; got text of 200,001 characters."),
    ({"prompt": 42}, "`prompt` must be text of 1 to 200,000 characters; got 42."),
    ({"temperature": 0.5}, "`prompt` is required: text of 1 to 200,000 characters; it was not given."),
    ({"prompt": "hi", "model": "../../etc/passwd"}, "`model` must be a model id such as GigaChat-2-Max"),
    ({"prompt": "hi", "conversation_id": "not-an-id"}, "`conversation_id` must be the 16-character conversation_id "
                                                      "an earlier chat result returned"),
])
async def test_each_bad_value_is_one_sentence_naming_argument_value_and_what_is_allowed(
        emulator: Emulator, arguments: dict, sentence: str) -> None:
    [line] = lines(await call(emulator, arguments))
    assert line.startswith(sentence), line
    assert emulator.requests_to("chat") == []


async def test_several_bad_arguments_get_a_sentence_each(emulator: Emulator) -> None:
    result = await call(emulator, {"prompt": "hi", "temperature": 9, "max_tokens": -1, "background": "yes",
                                   "colr": 1})
    assert result.content[0].text.startswith("The chat tool was not run: 4 arguments to fix.")
    assert sorted(line.split("`")[1] for line in lines(result)) == ["background", "colr", "max_tokens",
                                                                       "temperature"]
    assert emulator.requests_to("chat") == []


async def test_other_tools_explain_their_arguments_too(emulator: Emulator) -> None:
    [item] = lines(await call(emulator, {"texts": ["fine", "x" * 200_001]}, tool="count_tokens"))
    assert item == "`texts` item 2 of 2: text of at most 200,000 characters; got text of 200,001 characters."
    [empty] = lines(await call(emulator, {"texts": []}, tool="count_tokens"))
    assert empty.startswith("`texts` must be a list of 1 to 100 items, each text")
    [extra] = lines(await call(emulator, {"verbose": True}, tool="list_models"))
    assert extra == "`verbose`: list_models takes no arguments."
    [wait] = lines(await call(emulator, {"conversation_id": "0123456789abcdef", "wait_seconds": 99},
                              tool="get_conversation"))
    assert wait == "`wait_seconds` must be a number from 0 to 50; got 99."


async def test_the_server_log_names_bad_arguments_but_never_their_values(emulator: Emulator,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    result = await call(emulator, {"prompt": "my key is hunter2", "sytem": "hunter2", "temperature": "hunter2"})
    assert 'got the text "hunter2"' in result.content[0].text  # the caller is told what it sent
    assert "sytem" in caplog.text and "temperature" in caplog.text
    assert "hunter2" not in caplog.text  # the caller's data stays out of the log


def test_suggestions_fold_case_and_separators_and_booleans_accept_any_case() -> None:
    schema = {"properties": {"conversation_id": {"type": "string"}, "background": {"type": "boolean"},
                             "max_tokens": {"type": "integer", "minimum": 1}}}
    with pytest.raises(ArgumentProblem) as caught:
        check("chat", schema, {"ConversationID": "x", "max-tokens": 5, "zzz": 1})
    assert caught.value.sentences == [
        "`ConversationID` is not an argument of chat; did you mean `conversation_id`?",
        "`max-tokens` is not an argument of chat; did you mean `max_tokens`?",
        "`zzz` is not an argument of chat; its arguments are `conversation_id`, `background`, `max_tokens`."]
    assert caught.value.names == ["ConversationID", "max-tokens", "zzz"]
    assert check("chat", schema, {"background": " TRUE "}) == {"background": True}
    assert check("chat", schema, {"background": "False"}) == {"background": False}
