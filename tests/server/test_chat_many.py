"""`chat_many` through the SDK's own Client, in memory, against the emulator: answers in input order, templates,
parsed JSON per row, a failing row kept in its item, k/N progress, the maximum, the cache, background runs read
with get_conversation, the key's stream limit shared with chat, and the per-principal quotas."""

from __future__ import annotations

import json

import anyio
import pytest

from gigachat_mcp.emulator import Emulator
from gigachat_mcp.server import build_server
from gigachat_mcp.server.state import open_state
from tests.server.test_server import ERAS, connect, settings_for

pytestmark = pytest.mark.anyio
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
          "required": ["city", "population"]}


def heard(text: str) -> str:
    return f'heard: "{text}"'


@pytest.mark.parametrize("mode", ERAS)
async def test_answers_come_back_in_input_order_with_counts_usage_and_text(emulator: Emulator, mode: str) -> None:
    emulator.latency = 0.05  # four rows at once finish in whatever order: the result is still in input order
    prompts = [f"row {i} [emulator words={12 - i}]" for i in range(12)]
    async with connect(emulator, mode, server=build_server(settings_for(emulator, max_connections=4))) as client:
        result = await client.call_tool("chat_many", {"prompts": prompts})
    assert not result.is_error, result.content[0].text
    data = result.structured_content
    assert [item["index"] for item in data["items"]] == list(range(12))
    for prompt, item in zip(prompts, data["items"]):
        assert item["text"].startswith(f'GigaChat emulator (GigaChat-2) heard: "{prompt.split(" [")[0]}"')
        assert item["error"] is None
    assert (data["total"], data["answered"], data["failed"], data["status"]) == (12, 12, 0, "done")
    assert data["usage"]["total_tokens"] == data["usage"]["prompt_tokens"] + data["usage"]["completion_tokens"] > 0
    assert emulator.max_in_flight == 4  # the key's limit (GIGACHAT_MAX_CONNECTIONS=4), no more
    lines = result.content[0].text.splitlines()
    assert lines[0] == "12 items: 12 answered, 0 failed." and lines[1].startswith("[0] GigaChat emulator")


async def test_a_template_is_filled_with_string_items_and_with_object_items(emulator: Emulator) -> None:
    async with connect(emulator) as client:
        plain = await client.call_tool("chat_many", {"template": "Translate {} into English",
                                                     "items": ["кот", "собака"], "system": "Be terse."})
        fields = await client.call_tool("chat_many", {"template": "Label {title} ({year})",
                                                      "items": [{"title": "Dune", "year": 1965},
                                                                {"title": "Solaris", "year": 1961, "extra": 1}]})
    assert [i["text"].split(". ")[0] for i in plain.structured_content["items"]] == [
        'GigaChat emulator (GigaChat-2) heard: "Translate кот into English"',
        'GigaChat emulator (GigaChat-2) heard: "Translate собака into English"']
    assert all('System prompt: "Be terse."' in i["text"] for i in plain.structured_content["items"])
    assert [heard("Label Dune (1965)") in fields.structured_content["items"][0]["text"],
            heard("Label Solaris (1961)") in fields.structured_content["items"][1]["text"]] == [True, True]


async def test_json_schema_gives_each_item_its_parsed_object(emulator: Emulator) -> None:
    async with connect(emulator) as client:
        result = await client.call_tool("chat_many", {"prompts": ["Largest city", "Oldest city [emulator misfit=1]"],
                                                      "json_schema": SCHEMA})
    good, misfit = result.structured_content["items"]
    assert good["json"] == {"city": "emulator", "population": 0} and json.loads(good["text"]) == good["json"]
    assert misfit["text"] is None and "does not fit the schema" in misfit["error"]


async def test_a_failing_row_is_reported_in_its_item_and_the_others_answer(emulator: Emulator) -> None:
    async with connect(emulator) as client:
        result = await client.call_tool("chat_many", {"template": "Say {}",
                                                      "items": ["one", "two [emulator fail=500]", "three"]})
    assert not result.is_error
    one, two, three = result.structured_content["items"]
    assert heard("Say one") in one["text"] and heard("Say three") in three["text"]
    assert two["text"] is None and "server error (500" in two["error"]
    assert result.structured_content["failed"] == 1 and result.structured_content["answered"] == 2
    assert "[1] error: GigaChat had a server error (500" in result.content[0].text


@pytest.mark.parametrize("mode", ERAS)
async def test_progress_counts_rows_k_of_n(emulator: Emulator, mode: str) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    async with connect(emulator, mode) as client:
        await client.call_tool("chat_many", {"prompts": ["a", "b [emulator fail=400]", "c", "d"]},
                               progress_callback=on_progress)
    assert seen[-1] == (4, 4, "4/4 (1 failed)")
    assert [p for p, _, _ in seen] == sorted(set(p for p, _, _ in seen)) and {t for _, t, _ in seen} == {4}
    assert all(message.startswith(f"{int(p)}/4") for p, _, message in seen)
    assert len(seen) >= 3  # one a row (a burst may be coalesced into one)


async def test_more_than_the_maximum_and_unusable_arguments_get_one_sentence_each(emulator: Emulator) -> None:
    async with connect(emulator) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        too_many = await client.call_tool("chat_many", {"prompts": ["x"] * 501})
        both = await client.call_tool("chat_many", {"prompts": ["x"], "template": "Say {}", "items": ["y"]})
        neither = await client.call_tool("chat_many", {})
        no_items = await client.call_tool("chat_many", {"template": "Say {}"})
        missing = await client.call_tool("chat_many", {"template": "{name} from {city}", "items": [{"name": "Ada"}]})
        fixed = await client.call_tool("chat_many", {"template": "always the same", "items": ["a", "b"]})
        long = await client.call_tool("chat_many", {"template": "{0}{0}", "items": ["x" * 150_000]})
        twice = await client.call_tool("chat_many", {"template": "{} and {}", "items": ["x"]})
    assert "At most 500 items per call" in tools["chat_many"].description
    assert tools["chat_many"].input_schema["properties"]["prompts"]["anyOf"][0]["maxItems"] == 500
    assert too_many.is_error and "`prompts` must be a list of 1 to 500 items" in too_many.content[0].text
    assert "got a list of 501 items" in too_many.content[0].text
    assert "not both" in both.content[0].text and "none was given" in neither.content[0].text
    assert "items is missing" in no_items.content[0].text
    assert "item 0 has no field 'city', which the template names; its fields: name." in missing.content[0].text
    assert "The template has no {} or {field} placeholder" in fixed.content[0].text
    assert "item 0 makes a prompt of 300,000 characters; at most 200,000" in long.content[0].text
    assert "item 0 is one string, so the template can hold only one {}" in twice.content[0].text
    assert all(r.is_error for r in (both, neither, no_items, missing, fixed, long, twice))
    assert not emulator.requests_to("chat"), "nothing was sent for arguments that cannot be used"


async def test_a_retried_call_does_not_pay_again_for_rows_already_answered(emulator: Emulator) -> None:
    async with connect(emulator) as client:
        first = await client.call_tool("chat_many", {"prompts": ["one", "two [emulator fail=500]", "three"]})
        sent = len(emulator.requests_to("chat"))
        again = await client.call_tool("chat_many", {"prompts": ["one", "two [emulator fail=500]", "three"]})
    assert [i["text"] for i in again.structured_content["items"]] == [i["text"] for i in
                                                                       first.structured_content["items"]]
    retried = emulator.requests_to("chat")[sent:]
    assert retried and all("two" in r.body["messages"][-1]["content"] for r in retried)  # only the failed row


@pytest.mark.parametrize("mode", ERAS)
async def test_background_returns_at_once_and_get_conversation_shows_the_results(emulator: Emulator,
                                                                                 mode: str) -> None:
    emulator.latency = 0.2
    async with connect(emulator, mode) as client:
        started = await client.call_tool("chat_many", {"template": "Say {}", "items": ["a", "b", "c", "d"],
                                                       "background": True})
        data = started.structured_content
        assert (data["status"], data["total"], data["items"]) == ("queued", 4, [])
        cid = data["conversation_id"]
        assert "get_conversation" in started.content[0].text and cid in started.content[0].text
        while True:  # the rows appear one by one while the run goes on
            during = (await client.call_tool("get_conversation", {"conversation_id": cid})).structured_content
            if during["status"] != "queued" and "[0]" in during["messages"][-1]["content"]:
                break
            await anyio.sleep(0.02)
        done = await client.call_tool("get_conversation", {"conversation_id": cid, "wait_seconds": 30})
        resource = json.loads((await client.read_resource(f"gigachat://conversations/{cid}")).contents[0].text)
    assert during["status"] == "streaming" and during["messages"][-1].get("in_flight") is True
    snapshot = done.structured_content
    assert snapshot["status"] == "done" and resource["status"] == "done"
    assert snapshot["messages"][0]["content"].startswith("chat_many over a template: Say {}")
    result = snapshot["messages"][-1]["json"]
    assert [heard(f"Say {x}") in item["text"] for x, item in zip("abcd", result["items"])] == [True] * 4
    assert (result["status"], result["answered"], result["failed"]) == ("done", 4, 0)
    assert snapshot["usage"]["total_tokens"] == result["usage"]["total_tokens"] > 0
    assert resource["messages"][-1]["json"] == result


async def test_rows_take_the_keys_stream_one_at_a_time_so_a_chat_is_answered_between_them(
        emulator: Emulator) -> None:
    """A personal key allows one stream: a long background run holds it one row at a time, so a chat asked
    meanwhile is answered before the run ends instead of waiting for all of it."""
    emulator.latency = 0.2
    async with connect(emulator, server=build_server(settings_for(emulator, max_connections=1))) as client:
        started = await client.call_tool("chat_many", {"prompts": [f"row {i}" for i in range(6)],
                                                       "background": True})
        answer = await client.call_tool("chat", {"prompt": "meanwhile"})
        cid = started.structured_content["conversation_id"]
        done = await client.call_tool("get_conversation", {"conversation_id": cid, "wait_seconds": 30})
    assert not answer.is_error and done.structured_content["status"] == "done"
    order = [r.body["messages"][-1]["content"] for r in emulator.requests_to("chat")]
    assert order.index("meanwhile") < order.index("row 5"), order
    assert emulator.max_in_flight == 1


async def test_per_principal_quotas_apply(emulator: Emulator) -> None:
    emulator.latency = 0.2
    state = open_state(requests_per_minute=3, streams_per_principal=2)
    server = build_server(settings_for(emulator, max_connections=4), state=state)
    async with connect(emulator, server=server) as client:
        started = await client.call_tool("chat_many", {"prompts": [f"row {i}" for i in range(6)],
                                                       "background": True})
        refused = await client.call_tool("chat", {"prompt": "while both of my streams run rows"})
        cid = started.structured_content["conversation_id"]
        done = await client.call_tool("get_conversation", {"conversation_id": cid, "wait_seconds": 30})
        third = await client.call_tool("chat_many", {"prompts": ["one more"]})
        over = await client.call_tool("chat_many", {"prompts": ["and another"]})
    assert refused.is_error and "Too many answers in flight: 2 at a time" in refused.content[0].text
    assert done.structured_content["status"] == "done"
    assert emulator.max_in_flight == 2  # the principal's two streams, though the key allows four
    # a call is one request, however many rows it has: the run, the refused chat, the third call; not a fourth
    assert not third.is_error and over.is_error and "Too many requests: 3 a minute" in over.content[0].text

