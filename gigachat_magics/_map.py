"""`%%gigachat --map VAR`: the cell's text as a template sent once per item of VAR (a list, a pandas Series or a
DataFrame), through GigaChat.map: concurrently within the key's limit (or the Batch API with --batch), with its
cache, so an interrupted cell run again sends only the rows not answered yet.

The rows are independent requests: the conversation's history is neither sent with them nor extended by them.
`-o OUT` stores the answers (texts, or parsed objects with --schema / -f json) as a list, or, when VAR is pandas,
as a Series on VAR's index, built with the pandas the input came from (pandas is never imported here). A failed
row is None there and is listed under the bar; an interrupted run stores what was answered, None for the rest.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from IPython.core.error import UsageError

from ._attach import attachments_from
from ._progress import make_bar

__all__ = ["MAP_ONLY", "run_map", "wants_map"]

MAP_ONLY = ("batch", "concurrency", "no_cache")  # the flags that mean something only with --map
SHOWN_ERRORS = 20


def run_map(magics: Any, args: Any, template: str) -> None:
    """Answer the template for every row of the variable named by --map, showing progress, then the failures."""
    from gigachat_mcp import GigaChatError, MapInterrupted

    _check_flags(args)
    shell = magics.shell
    source = _rows(args.map, shell.user_ns)
    fmt = "json" if args.schema or args.format == "json" else "text"
    options = magics._request_options(args, attachments_from(args.attach or [], shell.user_ns), fmt, draw=False)
    options["system"] = args.system or magics.system
    options = {name: value for name, value in options.items() if value is not None}
    giga = magics._giga()
    bar = make_bar(shell, magics.update_interval)
    started = time.monotonic()
    try:
        result = giga.map(template, rows=source, concurrency=args.concurrency, cache=not args.no_cache,
                          batch=args.batch, progress=bar.update, **options)
    except MapInterrupted as stopped:
        bar.close("interrupted")
        partial: Any = stopped.partial
        answered = sum(item is not None for item in partial.texts)
        stored = _store(shell, args.output, partial, fmt, source)
        message = (f"interrupted: {answered} of {len(partial)} rows answered{stored}. The map cache keeps them: "
                   f"run the cell again to send only the other {len(partial) - answered}.")
        from .magics import _one_line

        raise _one_line(stopped, message) from None
    except GigaChatError as exc:
        bar.close("stopped by an error")
        raise magics._shown(exc) from None
    bar.close()
    _count_usage(magics.usage, result)
    stored = _store(shell, args.output, result, fmt, source)
    lines = [f"row {_label(source, error.index)}: {_first_line(error.exception)}"
             for error in result.errors[:SHOWN_ERRORS]]
    if len(result.errors) > SHOWN_ERRORS:
        lines.append(f"… and {len(result.errors) - SHOWN_ERRORS} more failed rows")
    lines.append(_summary(result, time.monotonic() - started) + stored)
    _notes(shell, lines)


def wants_map(args: Any) -> bool:
    """--map was given, or a flag that needs it (run_map then says so)."""
    return args.map is not None or any(getattr(args, name) for name in MAP_ONLY)


def _check_flags(args: Any) -> None:
    if args.map is None:
        raise UsageError("--batch, --concurrency and --no-cache go with --map VAR (a template over VAR's rows).")
    if not args.map.isidentifier():
        raise UsageError(f"--map needs the name of a variable holding the rows, not {args.map!r}.")
    if args.concurrency is not None and args.concurrency < 1:
        raise UsageError(f"--concurrency needs a whole number of 1 or more, not {args.concurrency}; leave it out "
                         "to send as many rows at once as your key allows.")
    for given, name, why in ((args.template, "-T", "the cell already is a template over the rows; write a literal "
                              "brace as {{ or }}"), (args.new, "--new", "each row is asked on its own, without the "
                              "conversation"), (args.format == "code", "-f code", "use -f text or -f json")):
        if given:
            raise UsageError(f"{name} does not go with --map: {why}.")


def _rows(name: str, namespace: dict[str, Any]) -> Any:
    if name not in namespace:
        raise UsageError(f"--map {name}: no variable named {name!r}. Put the rows in a list, a pandas Series or a "
                         "DataFrame first.")
    value = namespace[name]
    frame = hasattr(value, "columns") and callable(getattr(value, "to_dict", None))
    if not (isinstance(value, (list, tuple)) or frame or callable(getattr(value, "tolist", None))):
        raise UsageError(f"--map {name}: it holds a {type(value).__name__}; give a list, a pandas Series or a "
                         "DataFrame.")
    if len(value) == 0:
        raise UsageError(f"--map {name}: it is empty, so there is nothing to send.")
    return value


def _pandas_of(source: Any) -> Any:
    """The pandas module the input came from, when it is pandas (it is loaded already then); else None."""
    module = sys.modules.get(type(source).__module__.partition(".")[0])
    return module if hasattr(source, "index") and callable(getattr(module, "Series", None)) else None


def _store(shell: Any, name: str | None, result: Any, fmt: str, source: Any) -> str:
    """Put the answers into `name`: a list, or a Series on the input's index; say what was stored where."""
    if not name:
        return ""
    values = result.parsed if fmt == "json" else result.texts
    pandas = _pandas_of(source)
    if pandas is not None:
        shell.user_ns[name] = pandas.Series(values, index=source.index, dtype=object, name=name)
        return f"; stored in {name} (a Series on {_kind(source)}'s index{', None where unanswered' * (not result.ok)})"
    shell.user_ns[name] = values
    return f"; stored in {name} (a list{', None where unanswered' * (not result.ok)})"


def _kind(source: Any) -> str:
    return "the DataFrame" if hasattr(source, "columns") else "the Series"


def _label(source: Any, index: int) -> str:
    """A row as the user knows it: its position, and its index label when the input is pandas."""
    if _pandas_of(source) is not None:
        label = source.index[index]
        if label != index:
            return f"{index} ({label!r})"
    return str(index)


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    text = text if len(text) <= 160 else text[:159] + "…"
    return f"{type(exc).__name__}: {text}"


def _summary(result: Any, seconds: float) -> str:
    failed = len(result.errors)
    return (f"{len(result)} rows: {len(result) - failed} answered, {failed} failed · {seconds:.1f} s · "
            f"{result.usage.total_tokens} tokens")


def _count_usage(usage: dict[str, int], result: Any) -> None:
    """`%gigachat usage` counts a map's answers and tokens too."""
    usage["answers"] += len(result) - len(result.errors)
    for name in ("prompt_tokens", "completion_tokens", "total_tokens"):
        usage[name] += getattr(result.usage, name)


def _notes(shell: Any, lines: list[str]) -> None:
    """Under the bar: one line per failed row, then the summary (markdown in a kernel, plain in a terminal)."""
    if getattr(shell, "kernel", None) is None:
        for line in lines:
            print(line, flush=True)
        return
    from IPython.display import display

    markdown = "  \n".join(line.replace("*", "\\*").replace("_", "\\_") for line in lines[:-1])
    markdown = (markdown + "  \n" if markdown else "") + f"*{lines[-1]}*"
    display({"text/markdown": markdown, "text/plain": "\n".join(lines)}, raw=True)
