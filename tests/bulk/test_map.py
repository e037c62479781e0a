"""GigaChat.map / AsyncGigaChat.map over real HTTPS against the emulator: order, templates, options per row,
failures as records, the shared 429 gate, and what is checked before anything is sent."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest

from gigachat_mcp import APIError, ChatResult, InvalidRequestError, MapResult, RowError, StructuredOutputError
from gigachat_mcp.emulator import Emulator
from tests.bulk.conftest import Mapper


def heard(result: ChatResult | RowError) -> str:
    assert isinstance(result, ChatResult), result
    return result.text.split('heard: "', 1)[1].split('"', 1)[0]


def sent_prompts(emulator: Emulator) -> list[str]:
    return [r.body["messages"][-1]["content"] for r in emulator.requests_to("chat")]


def test_answers_come_back_in_input_order_with_real_concurrency(run_map: Mapper, emulator: Emulator) -> None:
    emulator.latency = 0.1
    prompts = [f"item {i}" for i in range(12)]
    result = run_map(prompts, concurrency=4, cache=False)
    assert isinstance(result, MapResult) and len(result) == 12 and result.ok
    assert [heard(r) for r in result] == prompts
    assert result.texts == [r.text for r in result]  # type: ignore[union-attr]
    assert result.usage.total_tokens == sum(r.usage.total_tokens for r in result)  # type: ignore[union-attr]
    assert 2 <= emulator.max_in_flight <= 4


def test_concurrency_defaults_to_one_request_at_a_time_for_a_personal_key(run_map: Mapper, emulator: Emulator) -> None:
    emulator.latency = 0.05
    run_map([f"p{i}" for i in range(5)], cache=False)
    assert emulator.max_in_flight == 1


def test_a_template_fills_from_dicts_a_dataframe_and_plain_values(run_map: Mapper, emulator: Emulator) -> None:
    class FrameLike:  # what a pandas DataFrame offers, without pandas
        columns = ["name", "city"]

        def to_dict(self, orient: str) -> list[dict[str, Any]]:
            assert orient == "records"
            return [{"name": "Ada", "city": "London"}, {"name": "Ivan", "city": "Kazan"}]

    class SeriesLike:
        def tolist(self) -> list[Any]:
            return ["tea", 42]

    dicts = run_map("Greet {name} from {city}", rows=[{"name": "Olga", "city": "Omsk", "extra": 1}], cache=False)
    frame = run_map("Greet {name} from {city}", rows=FrameLike(), cache=False)
    plain = run_map("Describe {} in {{braces}}", rows=SeriesLike(), cache=False)
    assert [heard(r) for r in dicts] == ["Greet Olga from Omsk"]
    assert [heard(r) for r in frame] == ["Greet Ada from London", "Greet Ivan from Kazan"]
    assert [heard(r) for r in plain] == ["Describe tea in {braces}", "Describe 42 in {braces}"]


@pytest.mark.parametrize(("template", "rows", "says"), [
    ("Hi {name}", [{"name": "a"}, {"nom": "b"}], "row 1 has no field 'name'"),
    ("Hi {name}", ["plain"], "can use only {}"),
    ("Hi {}", [{"name": "a"}], "name its fields"),
    ("Hi there", [{"name": "a"}], "no {field} placeholders"),
    ("Hi {name", [{"name": "a"}], "not a valid format string"),
])
def test_a_template_that_a_row_cannot_fill_is_refused_before_anything_is_sent(
        run_map: Mapper, emulator: Emulator, template: str, rows: list[Any], says: str) -> None:
    with pytest.raises(InvalidRequestError, match=says.replace("{", r"\{").replace("(", r"\(")):
        run_map(template, rows=rows)
    assert emulator.requests == []  # not even a token was asked for


def test_bad_prompts_and_options_are_refused_before_anything_is_sent(run_map: Mapper, emulator: Emulator) -> None:
    with pytest.raises(InvalidRequestError, match="row 1"):
        run_map(["fine", 42])
    with pytest.raises(InvalidRequestError, match="unknown option"):
        run_map(["fine"], temprature=0.2)
    with pytest.raises(InvalidRequestError, match="temperature"):
        run_map(["fine"], temperature=-1)
    with pytest.raises(InvalidRequestError, match="use chat"):
        run_map("one prompt")
    with pytest.raises(InvalidRequestError, match="on_error"):
        run_map(["fine"], on_error="ignore")
    assert emulator.requests == []


def test_options_reach_every_row_and_response_format_parses_each(run_map: Mapper, emulator: Emulator) -> None:
    schema = {"type": "object", "properties": {"label": {"type": "string"}}, "required": ["label"]}
    result = run_map(["good", "bad [emulator misfit=1]", "fine"], system="Label it.", temperature=0.2,
                     model="GigaChat-2-Pro", response_format=schema, cache=False)
    assert result.parsed[0] == result.parsed[2] == {"label": "emulator"}
    assert result.parsed[1] is None
    error = result[1]
    assert isinstance(error, RowError) and error.index == 1 and isinstance(error.exception, StructuredOutputError)
    assert error.prompt == "bad [emulator misfit=1]"
    for request in emulator.requests_to("chat"):
        assert request.body["model"] == "GigaChat-2-Pro" and request.body["temperature"] == 0.2
        assert request.body["messages"][0] == {"role": "system", "content": "Label it."}


def test_a_row_that_always_fails_is_a_record_and_the_others_are_answered(run_map: Mapper, emulator: Emulator) -> None:
    result = run_map(["one", "two [emulator fail=500]", "three"], concurrency=2, cache=False)
    assert [type(r) for r in result] == [ChatResult, RowError, ChatResult]
    assert result.texts[1] is None and len(result.errors) == 1
    failure = result.errors[0]
    assert failure.index == 1 and isinstance(failure.exception, APIError) and failure.exception.status_code == 500
    assert "row 1" in str(failure)


def test_on_error_raise_raises_the_rows_error(run_map: Mapper, emulator: Emulator) -> None:
    with pytest.raises(APIError) as caught:
        run_map(["one [emulator fail=500]", "two"], on_error="raise", cache=False)
    assert caught.value.status_code == 500


def test_an_empty_input_returns_an_empty_result_without_a_request(run_map: Mapper, emulator: Emulator) -> None:
    assert len(run_map([])) == 0
    assert len(run_map("Hi {name}", rows=[])) == 0
    assert emulator.requests == []


def test_a_429_burst_pauses_the_whole_run_and_no_row_is_answered_twice(run_map: Mapper, emulator: Emulator) -> None:
    emulator.latency = 0.05
    emulator.add_fault("chat", status=429, headers={"Retry-After": "1"}, skip_requests=3)
    prompts = [f"row {i}" for i in range(16)]
    result = run_map(prompts, concurrency=4, cache=False)
    assert result.ok and [heard(r) for r in result] == prompts
    chats = emulator.requests_to("chat")
    counts = Counter(r.body["messages"][-1]["content"] for r in chats)
    assert len(chats) == 17 and sorted(counts.values()) == [1] * 15 + [2]  # one refused and sent again, no other
    refused_prompt = next(p for p, n in counts.items() if n == 2)
    first, again = [r.at for r in chats if r.body["messages"][-1]["content"] == refused_prompt]
    assert again >= first + 0.95  # Retry-After honoured
    during_pause = [r for r in chats if first < r.at < first + 0.95]
    # Only requests other workers had already sent before the 429 came back; a per-worker retry would have let
    # the three other workers send about fifty requests in this second.
    assert len(during_pause) <= 3


def test_progress_is_called_in_the_callers_thread_up_to_the_total(run_map: Mapper, emulator: Emulator) -> None:
    seen: list[tuple[int, int, int]] = []
    threads: set[int] = set()

    def progress(done: int, total: int, errors: int) -> None:
        seen.append((done, total, errors))
        threads.add(threading.get_ident())

    run_map(["a", "b [emulator fail=400]", "c"], progress=progress, cache=False)
    assert seen[-1] == (3, 3, 1)
    assert [s[0] for s in seen] == sorted(s[0] for s in seen)
    assert threads == {threading.get_ident()}
