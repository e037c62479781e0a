"""`%%gigachat --map VAR` in an IPython shell against the emulator: lists, DataFrames and Series in, lists and
Series out, parsed objects, failed rows, the Batch API, the cache, and the progress bar (ours and tqdm's)."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator

import pandas as pd
import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from gigachat_mcp.emulator import DEFAULT_CREDENTIALS, Emulator


@pytest.fixture
def fast(shell: InteractiveShell, emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> InteractiveShell:
    """The shell, with the client's retries of a 500 quick (a failing row is retried before it is reported)."""
    monkeypatch.setenv("GIGACHAT_RETRY_BACKOFF_FACTOR", "0.01")
    return shell


def chat_prompts(emulator: Emulator) -> list[str]:
    return [request.body["messages"][-1]["content"] for request in emulator.requests_to("chat")]


def test_a_list_maps_to_a_list_of_answers_in_order(fast: InteractiveShell, emulator: Emulator, capsys) -> None:
    fast.user_ns["animals"] = ["cat", "dog", "owl"]
    fast.run_cell_magic("gigachat", "--map animals -o answers -s 'One word.'", "What is a {}?")
    answers = fast.user_ns["answers"]
    assert isinstance(answers, list) and len(answers) == 3
    assert [a.split('heard: "')[1].split('"')[0] for a in answers] == ["What is a cat?", "What is a dog?",
                                                                        "What is a owl?"]
    assert all('System prompt: "One word."' in a for a in answers)
    out = capsys.readouterr().out
    assert "3/3 rows" in out and "3 rows: 3 answered, 0 failed" in out and "stored in answers (a list)" in out
    assert sorted(chat_prompts(emulator)) == ["What is a cat?", "What is a dog?", "What is a owl?"]
    # the rows are independent: the conversation's history neither went out with them nor grew
    assert all(len(r.body["messages"]) == 2 for r in emulator.requests_to("chat"))
    magics = fast.magics_manager.registry["GigaChatMagics"]
    assert magics.history.exchanges == [] and magics.usage["answers"] == 3


def test_a_dataframe_fills_columns_and_gives_a_series_on_its_index(fast: InteractiveShell) -> None:
    frame = pd.DataFrame({"name": ["Tea", "Cup"], "price": [3, 5]}, index=["a17", "b42"])
    fast.user_ns["items"] = frame
    fast.run_cell_magic("gigachat", "--map items -o labels", "Name {name}, price {price}")
    labels = fast.user_ns["labels"]
    assert isinstance(labels, pd.Series) and list(labels.index) == ["a17", "b42"] and labels.name == "labels"
    assert 'heard: "Name Tea, price 3"' in labels["a17"] and 'heard: "Name Cup, price 5"' in labels["b42"]
    frame["label"] = labels  # aligned on the index, as a user then does
    assert frame.loc["b42", "label"] == labels["b42"]


def test_a_series_fills_braces_and_parsed_objects_are_stored(fast: InteractiveShell, emulator: Emulator) -> None:
    fast.user_ns["titles"] = pd.Series(["Dune", "Emma"], index=[10, 20])
    fast.user_ns["Kind"] = {"type": "object", "properties": {"kind": {"type": "string"}}, "required": ["kind"]}
    fast.run_cell_magic("gigachat", "--map titles -o kinds --schema Kind", "What kind of book is {}?")
    kinds = fast.user_ns["kinds"]
    assert isinstance(kinds, pd.Series) and list(kinds.index) == [10, 20]
    assert kinds[10] == {"kind": "emulator"} and kinds[20] == {"kind": "emulator"}
    assert emulator.requests_to("chat")[0].body["response_format"]["schema"] == fast.user_ns["Kind"]
    fast.run_cell_magic("gigachat", "--map titles -o any_json -f json --no-cache", "Describe {} as JSON")
    assert all(isinstance(value, dict) for value in fast.user_ns["any_json"])


def test_a_failing_row_is_none_and_listed_under_the_bar(fast: InteractiveShell, capsys) -> None:
    fast.user_ns["frame"] = pd.DataFrame({"q": ["fine", "broken [emulator fail=500]", "also fine"]},
                                         index=["x", "y", "z"])
    fast.run_cell_magic("gigachat", "--map frame -o out", "{q}")
    out = fast.user_ns["out"]
    assert out["y"] is None and out["x"] is not None and out["z"] is not None
    printed = capsys.readouterr().out
    assert "row 1 ('y'): APIError: GigaChat had a server error (500" in printed
    assert "3 rows: 2 answered, 1 failed" in printed and "None where unanswered" in printed
    assert "1 failed" in printed.split("\n")[0]  # the bar counted it while running


def test_a_rerun_is_answered_by_the_cache_and_no_cache_sends_again(fast: InteractiveShell, emulator: Emulator) -> None:
    fast.user_ns["rows"] = ["one", "two"]
    fast.run_cell_magic("gigachat", "--map rows -o first", "Say {}")
    fast.run_cell_magic("gigachat", "--map rows -o second", "Say {}")
    assert len(emulator.requests_to("chat")) == 2 and fast.user_ns["second"] == fast.user_ns["first"]
    fast.run_cell_magic("gigachat", "--map rows --no-cache --concurrency 1", "Say {}")
    assert len(emulator.requests_to("chat")) == 4


def test_batch_goes_through_the_batch_api(monkeypatch: pytest.MonkeyPatch) -> None:
    with Emulator(credentials={DEFAULT_CREDENTIALS: "GIGACHAT_API_CORP"}, batch_delay=0) as corp:
        for name, value in corp.env(token_cache="memory", scope="GIGACHAT_API_CORP").items():
            monkeypatch.setenv(name, value)
        ip = InteractiveShell.instance()
        ip.extension_manager.load_extension("gigachat_magics")
        try:
            ip.user_ns["rows"] = ["cats", "dogs"]
            ip.run_cell_magic("gigachat", "--map rows -o out --batch", "Label {}")
            assert [a.split('heard: "')[1].split('"')[0] for a in ip.user_ns["out"]] == ["Label cats", "Label dogs"]
            assert len(corp.requests_to("batch_create")) == 1 and corp.requests_to("chat") == []
        finally:
            ip.extension_manager.unload_extension("gigachat_magics")
            for name in ("rows", "out"):
                ip.user_ns.pop(name, None)


def test_batch_with_a_personal_key_is_refused_before_sending(shell: InteractiveShell, emulator: Emulator) -> None:
    shell.user_ns["rows"] = ["a"]
    with pytest.raises(UsageError, match="batch=True needs a pay-as-you-go key"):
        shell.run_cell_magic("gigachat", "--map rows --batch", "Say {}")
    assert emulator.requests_to("chat") == [] and emulator.requests_to("batch_create") == []


@pytest.mark.parametrize(("line", "cell", "message"), [
    ("--map nowhere", "Say {}", "no variable named 'nowhere'"),
    ("--map text", "Say {}", "it holds a str"),
    ("--map empty", "Say {}", "it is empty"),
    ("--map rows", "Say {missing}", "row 0 is a plain value"),
    ("--map rows -T", "Say {}", "-T does not go with --map"),
    ("--batch", "Say hi", "go with --map VAR"),
    ("--map rows --concurrency 0", "Say {}", "--concurrency needs a whole number of 1 or more, not 0"),
])
def test_bad_maps_are_one_usage_error_before_sending(shell: InteractiveShell, emulator: Emulator, line: str,
                                                      cell: str, message: str) -> None:
    shell.user_ns.update(text="abc", empty=[], rows=["a", "b"])
    with pytest.raises(UsageError, match=message):
        shell.run_cell_magic("gigachat", line, cell)
    assert emulator.requests_to("chat") == []


@pytest.fixture
def fake_tqdm(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """A stand-in tqdm package, to see that an installed tqdm draws the bar (tqdm is not a test dependency)."""
    bars: list[object] = []

    class Bar:
        def __init__(self, total: int, initial: int, **kwargs: object) -> None:
            self.total, self.n, self.kwargs, self.postfix, self.closed = total, initial, kwargs, {}, False
            bars.append(self)

        def update(self, step: int) -> None:
            self.n += step

        def set_postfix(self, **values: object) -> None:
            self.postfix = values

        def close(self) -> None:
            self.closed = True

    package, auto = types.ModuleType("tqdm"), types.ModuleType("tqdm.auto")
    auto.tqdm = Bar  # type: ignore[attr-defined]
    package.auto = auto  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tqdm", package)
    monkeypatch.setitem(sys.modules, "tqdm.auto", auto)
    yield bars


def test_an_installed_tqdm_draws_the_bar(fast: InteractiveShell, fake_tqdm: list, capsys) -> None:
    fast.user_ns["rows"] = ["a", "b [emulator fail=500]", "c"]
    fast.run_cell_magic("gigachat", "--map rows", "Say {}")
    [bar] = fake_tqdm
    assert bar.total == 3 and bar.n == 3 and bar.closed and bar.postfix == {"failed": 1}
    assert "rows/s" not in capsys.readouterr().out  # tqdm drew it, not our own line
