"""`%%gigachat` and `%gigachat`: GigaChat in IPython and Jupyter, streaming, with memory across cells.

The sync client runs in the kernel's main thread, so the stop button (KeyboardInterrupt) lands inside the
socket read: the stream stops, the connection closes at once, the partial text stays visible and marked, and
the interrupt propagates so queued cells do not run. The interrupted exchange stays in `%gigachat history`,
marked, but is not sent as context with later cells: a half answer the user stopped is not what they meant.
Errors are one line, without a traceback: UsageError for what the user can fix in the cell or the settings,
the error's own type (GigaChatConnectionError, RateLimitError, ...) for everything else.
"""

from __future__ import annotations

import contextlib
import keyword
import re
import shlex
import time
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from traitlets import Bool, CFloat, Enum, Int, Unicode

from ._attach import AnswerText, attachments_from
from ._display import make_display
from ._explain import ErrorWatch, explain_prompt
from ._history import Exchange, History
from ._map import run_map, wants_map
from ._options import cell_options

__all__ = ["GigaChatMagics"]

NOTEBOOK_KEY_HINT = (
    " In a notebook, set it without saving it into the notebook: `import os, getpass; "
    "os.environ['GIGACHAT_CREDENTIALS'] = getpass.getpass('GigaChat key: ')`, or export it before starting Jupyter."
)
NOTEBOOK_EMULATOR = (
    " To try it without a key, run the built-in emulator in this kernel: `import os; from gigachat_mcp.emulator "
    "import Emulator; os.environ.update(Emulator().start().env(token_cache='memory'))`."
)
_FENCE = re.compile(r"```[^\n`]*\n(.*?)```", re.DOTALL)
_TEMPLATE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
SUBCOMMANDS = ("models", "history", "reset", "usage", "config", "explain")
LIST_MODELS = "`%gigachat models`"


@magics_class
class GigaChatMagics(Magics):
    """Ask GigaChat from IPython. Defaults are configurable: `%config GigaChatMagics.model = 'GigaChat-2-Max'`."""

    model = Unicode(None, allow_none=True, help="Default model (else GIGACHAT_MODEL, else GigaChat-2).").tag(config=True)
    system = Unicode(None, allow_none=True, help="System prompt for new conversations.").tag(config=True)
    temperature = CFloat(None, allow_none=True, help="Default sampling temperature.").tag(config=True)
    max_tokens = Int(None, allow_none=True, help="Default upper bound on answer length.").tag(config=True)
    max_history = Int(10, help="Exchanges of earlier cells sent with each prompt (0: none).").tag(config=True)
    output_format = Enum(["markdown", "text", "code"], "markdown", help="How answers are shown.").tag(config=True)
    update_interval = CFloat(0.1, help="Seconds between display updates while streaming.").tag(config=True)
    show_status = Bool(True, help="Show model, time and tokens after each answer.").tag(config=True)
    template = Bool(False, help="Fill {name} in prompts from the user namespace (also: -T per cell).").tag(config=True)
    image_generation = Bool(True, help="Let GigaChat draw when asked (also GIGACHAT_IMAGE_GENERATION).").tag(config=True)
    shell: Any  # set by IPython when it registers the magics; never None here

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self.history = History()
        self.usage = {"answers": 0, "prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        self._client: Any = None
        self._environment: dict[str, str] = {}
        self._last: Any = None  # the last answer's final chunk (files, state id)
        self._images: list[bytes] = []  # the bytes of what it drew
        self.errors = ErrorWatch(shell)  # the last failing cell, for %gigachat explain

    # --- %%gigachat --------------------------------------------------------------------------------------------

    @magic_arguments("%gigachat")  # the usage line then reads %%gigachat, as the cell magic is typed
    @argument("-m", "--model", help="model id, e.g. GigaChat-2-Max")
    @argument("-s", "--system", help="system prompt (starts a new conversation when it changes)")
    @argument("-t", "--temperature", type=float, help="sampling temperature")
    @argument("--max-tokens", type=int, help="upper bound on answer length")
    @argument("--new", action="store_true", help="start a new conversation")
    @argument("-o", "--output", metavar="VAR", help="also store the answer text in this variable")
    @argument("-f", "--format", choices=("markdown", "text", "code", "json"),
              help="markdown (default), text, code (the answer's code goes into a new cell below), or json (the "
                   "answer is JSON; -o VAR stores the parsed object)")
    @argument("--think", nargs="?", const="medium", choices=("low", "medium", "high"), metavar="LEVEL",
              help="let GigaChat think first (low, medium (default), high); the thinking shows collapsed above")
    @argument("--web", action="store_true", help="let GigaChat search the web (sent on the v2 contract); sources "
                                                 "are listed under the answer")
    @argument("--schema", metavar="SCHEMA", help="a variable holding a JSON Schema dict or a pydantic model class, "
                                                 "or a JSON file: the answer must fit it (implies -f json)")
    @argument("-T", "--template", action="store_true", help="fill {name} in the prompt from your variables")
    @argument("--map", metavar="VAR", help="send the cell once per row of VAR (a list, a pandas Series or DataFrame): "
                                          "{} is the row's value, {column} a DataFrame column")
    @argument("--batch", action="store_true", help="with --map: through the Batch API (pay-as-you-go keys)")
    @argument("--concurrency", type=int, metavar="N", help="with --map: requests at once (default: the key's limit)")
    @argument("--no-cache", action="store_true", help="with --map: neither read nor keep answers in the map cache")
    @argument("-a", "--attach", action="append", metavar="ATTACHMENT",
              help="a file path, or a variable holding bytes, a PIL image or a matplotlib figure (sent as PNG) "
                   "or a pandas DataFrame (sent as CSV); repeatable")
    @cell_magic
    def gigachat(self, line: str, cell: str) -> None:
        """Ask GigaChat; the answer streams into the output. Each cell continues the conversation."""
        assert self.shell is not None  # IPython sets it when it loads the extension
        args = _parse(self.gigachat, line)
        prompt = cell.strip()
        if not prompt:
            raise UsageError("The cell is empty: write your question below %%gigachat.")
        if args.output is not None and (not args.output.isidentifier() or keyword.iskeyword(args.output)):
            raise UsageError(f"-o needs a Python variable name, not {args.output!r}.")
        if wants_map(args):
            return run_map(self, args, prompt)
        if args.template or self.template:
            prompt = _fill(prompt, self.shell.user_ns)  # raises UsageError naming what is not defined
        system = args.system
        if args.new or (system is not None and system != self.history.system):
            self.history.reset(system if system is not None else self.system)
        elif not self.history.exchanges and self.history.system is None:
            self.history.system = self.system
        cell_id = _cell_id(self.shell)
        self.history.forget_cell(cell_id)
        attachments = attachments_from(args.attach or [], self.shell.user_ns)
        messages = self.history.messages(prompt, self.max_history)
        fmt = "json" if args.schema else args.format or self.output_format
        options = self._request_options(args, attachments, fmt, self._draws())
        try:
            text = self._stream(messages, options, fmt)
        except _Interrupted as stopped:  # kept for `%gigachat history`, never sent again as context
            self.history.add(Exchange(prompt, stopped.partial, cell_id, tuple(attachments), interrupted=True),
                             self.max_history)
            raise stopped.interrupt from None
        final = self._last
        self.history.add(Exchange(prompt, text, cell_id, tuple(attachments), final.state_id if final else None),
                         self.max_history)
        if args.output and fmt == "json":
            self.shell.user_ns[args.output] = final.parsed if final is not None else None
        elif args.output:
            self.shell.user_ns[args.output] = AnswerText(text, final.files if final else (), self._images)

    def _stream(self, messages: list[dict[str, str]], options: dict[str, Any], fmt: str) -> str:
        from gigachat_mcp import GigaChatError

        giga = self._giga()
        started = time.monotonic()
        try:  # checked (and attachments uploaded) before any output: a refused request leaves no empty one
            stream = giga.stream(messages, **options)
        except GigaChatError as exc:
            raise self._shown(exc) from None
        except KeyboardInterrupt as interrupt:
            raise _Interrupted(_one_line(interrupt, "stopped before the question was sent"), "") from None
        view = make_display(self.shell, fmt, self.update_interval)
        final = None
        try:
            with contextlib.closing(stream) as chunks:
                for chunk in chunks:
                    if chunk.reasoning:
                        view.think(chunk.reasoning)
                    if chunk.text:
                        view.add(chunk.text)
                    if chunk.finish_reason is not None:
                        final = chunk
        except KeyboardInterrupt as interrupt:
            partial = "".join(view.parts)
            view.finish("interrupted")
            raise _Interrupted(_one_line(interrupt, "the answer was stopped; the text so far is kept above, "
                                                    "marked [interrupted]"), partial) from None
        except GigaChatError as exc:
            if view.parts or view.reasoning:
                view.finish("stopped by an error")
            else:
                view.discard()
            raise self._shown(exc) from None
        text = "".join(view.parts)
        view.finish()
        if final is not None and final.parsed is not None:
            view.structured(final.parsed)
        if final is not None and final.sources:
            view.sources(final.sources)
        self._last, self._images = final, self._show_files(giga, final, view)
        if final is not None and final.usage is not None:
            for name in ("prompt_tokens", "completion_tokens", "total_tokens"):
                self.usage[name] += getattr(final.usage, name)
        self.usage["answers"] += 1
        code = _code_of(text) if fmt == "code" else None
        if code:
            self.shell.set_next_input(code, replace=False)
        if self.show_status:
            view.note(_status(final, time.monotonic() - started, fmt, code))
        return text

    def _draws(self) -> bool:
        return self.image_generation and self._giga().settings.image_generation

    def _show_files(self, giga: Any, final: Any, view: Any) -> list[bytes]:
        """Fetch what GigaChat drew and show it below the text; a file that cannot be fetched is named."""
        from gigachat_mcp import GigaChatError

        images = []
        for number, made in enumerate(final.files if final is not None else (), 1):
            try:
                data = giga.download_file(made.id)
            except GigaChatError as exc:
                view.note(f"could not fetch drawn file {made.id}: {exc}")
                continue
            images.append(data)
            view.image(data, made.mime_type, f"GigaChat image {number} ({made.id})")
        return images

    def _shown(self, exc: Exception) -> BaseException:
        """One line: a UsageError for what the user fixes in the cell or the settings; otherwise the error
        itself (its type is what happened: a refused connection, a rejected key, a rate limit)."""
        from gigachat_mcp import AuthenticationError, ConfigError, GigaChatError, InvalidRequestError

        if isinstance(exc, (ConfigError, AuthenticationError)):
            self._client = None  # the next cell re-reads the environment
        message = exc.message_for(list_models=LIST_MODELS) if isinstance(exc, GigaChatError) else str(exc)
        if isinstance(exc, (ConfigError, InvalidRequestError)):
            if isinstance(exc, ConfigError) and "GIGACHAT_CREDENTIALS" in message:
                # the core's emulator hint is for Python code; the magic reads GIGACHAT_*, so point those there
                message = message.partition(" To try it without a key")[0] + NOTEBOOK_KEY_HINT + NOTEBOOK_EMULATOR
            return UsageError(f"GigaChat: {message}")
        return _one_line(exc, f"GigaChat: {message}")

    def _request_options(self, args: Any, attachments: list[Any], fmt: str, draw: bool) -> dict[str, Any]:
        """The cell's flags over the %config defaults, as chat options (a --map cell's rows use them too)."""
        assert self.shell is not None
        return {
            "model": args.model or self.model,
            "temperature": args.temperature if args.temperature is not None else self.temperature,
            "max_tokens": args.max_tokens if args.max_tokens is not None else self.max_tokens,
            "attachments": attachments or None,
            **cell_options(args, self.shell.user_ns, fmt, draw),
        }

    def _giga(self) -> Any:
        """The client, rebuilt when GIGACHAT_* changed (a key fixed mid-session applies to the next cell)."""
        environment = _gigachat_environment()
        if self._client is not None and environment != self._environment:
            self._client.close()
            self._client = None
        if self._client is None:
            from gigachat_mcp import ConfigError, GigaChat

            try:
                self._client = GigaChat()
            except ConfigError as exc:
                raise self._shown(exc) from None
            self._environment = environment
        return self._client

    # --- %gigachat ---------------------------------------------------------------------------------------------

    @line_magic("gigachat")  # type: ignore[arg-type]  # IPython's stubs type the named form as Never
    def gigachat_line(self, line: str) -> None:
        """%gigachat models | history | reset | usage | config | explain (the last error of this session)"""
        command = line.strip()
        if command not in SUBCOMMANDS:
            raise UsageError(f"%gigachat takes one of: {', '.join(SUBCOMMANDS)}. Ask with %%gigachat in a cell.")
        getattr(self, f"_{command}")()

    def _models(self) -> None:
        from gigachat_mcp import GigaChatError

        try:
            models = self._giga().models()
        except GigaChatError as exc:
            raise self._shown(exc) from None
        default = self.model or self._giga().settings.model
        for model in models:
            print(f"{model.id:<28} {model.type}{'  (default)' if model.id == default else ''}")

    def _history(self) -> None:
        if self.history.system:
            print(f"system: {_short(self.history.system)}")
        if not self.history.exchanges:
            print("(no exchanges yet)")
        for number, exchange in enumerate(self.history.exchanges, 1):
            print(f"[{number}] user: {_short(exchange.user)}")
            print(f"    assistant: {_short(exchange.assistant)}"
                  + ("  [interrupted] (not sent with later cells)" if exchange.interrupted else ""))

    def _explain(self) -> None:
        """Explain the last error of this session (its traceback and cell), streamed like any answer."""
        error = self.errors.last
        if error is None:
            print("No error to explain yet: run the failing cell, then %gigachat explain.")
            return
        prompt = explain_prompt(error)
        messages = self.history.messages(prompt, self.max_history)
        options = {"model": self.model, "temperature": self.temperature, "max_tokens": self.max_tokens}
        try:
            text = self._stream(messages, options, self.output_format if self.output_format != "code" else "markdown")
        except _Interrupted as stopped:
            self.history.add(Exchange(prompt, stopped.partial, interrupted=True), self.max_history)
            raise stopped.interrupt from None
        self.history.add(Exchange(prompt, text), self.max_history)

    def _reset(self) -> None:
        self.history.reset(self.system)
        print("Conversation cleared.")

    def _usage(self) -> None:
        u = self.usage
        print(f"{u['answers']} answers this session: {u['prompt_tokens']} prompt + {u['completion_tokens']} "
              f"completion = {u['total_tokens']} tokens")

    def _config(self) -> None:
        from gigachat_mcp import ConfigError, Settings

        try:
            s = self._client.settings if self._client is not None else Settings.resolve()
        except ConfigError as exc:
            raise UsageError(f"GigaChat: {exc}") from None
        print(f"model: {self.model or s.model}   api: {s.base_url} ({s.api_version})   scope: {s.scope}")
        print(f"auth: {s.auth_method}   credentials: {'set' if s.credentials else 'not set'}   "
              f"TLS verification: {'on' if s.verify_ssl_certs else 'OFF'}")
        print(f"history: {len(self.history.exchanges)} exchanges (sending up to {self.max_history})   "
              f"format: {self.output_format}   templating: {'on' if self.template else 'off'}")
        print("Change defaults with %config GigaChatMagics.<name> = value (see %config GigaChatMagics).")


class _Interrupted(Exception):
    """Carries the user's KeyboardInterrupt and the text shown so far out of _stream."""

    def __init__(self, interrupt: BaseException, partial: str) -> None:
        super().__init__()
        self.interrupt = interrupt
        self.partial = partial


def _one_line(exc: BaseException, message: str) -> BaseException:
    """IPython shows exc as `Type: message`, without the traceback through httpx and ssl (its documented
    `_render_traceback_` hook); the exception itself still propagates, so queued cells do not run."""
    exc._render_traceback_ = lambda: [f"{type(exc).__name__}: {message}"]  # type: ignore[attr-defined]
    return exc


def _gigachat_environment() -> dict[str, str]:
    import os

    return {name: value for name, value in os.environ.items() if name.startswith("GIGACHAT_")}


def _parse(magic: Any, line: str) -> Any:
    """IPython's parse_argstring keeps quotes (-s 'Be brief' gives "'Be brief'"); split POSIX-style instead."""
    try:
        argv = shlex.split(line)
    except ValueError as exc:
        raise UsageError(f"Could not read the options: {exc}.") from None
    return magic.parser.parse_args(argv)


def _cell_id(shell: Any) -> str | None:
    """The frontend's cell id (JupyterLab and Notebook 7 send it); None elsewhere."""
    get_parent = getattr(shell, "get_parent", None)
    if get_parent is None:
        return None
    try:
        return (get_parent() or {}).get("metadata", {}).get("cellId")
    except Exception:  # noqa: BLE001 - no parent message outside a kernel request
        return None


def _fill(prompt: str, namespace: dict[str, Any]) -> str:
    """Replace {name} with str(value); a name that is not defined stops the cell before anything is sent."""
    missing = sorted({name for name in _TEMPLATE.findall(prompt) if name not in namespace})
    if missing:
        names = ", ".join(f"{{{name}}}" for name in missing)
        raise UsageError(f"-T: {names} {'is' if len(missing) == 1 else 'are'} not defined, so nothing was sent. "
                         "Define them, or drop -T to send the braces as they are.")
    return _TEMPLATE.sub(lambda m: str(namespace[m.group(1)]), prompt)


def _code_of(text: str) -> str:
    """The fenced code blocks of an answer, joined; empty when it has none (prose is not code)."""
    return "\n".join(block.strip("\n") for block in _FENCE.findall(text)).strip("\n")


def _status(final: Any, seconds: float, fmt: str, code: str | None = None) -> str:
    parts = [final.model if final is not None and final.model else "GigaChat", f"{seconds:.1f} s"]
    if final is not None and final.usage is not None:
        parts.append(f"{final.usage.prompt_tokens} → {final.usage.completion_tokens} tokens")
    if final is not None and final.finish_reason not in (None, "stop"):
        parts.append(f"finish: {final.finish_reason}")
    if fmt == "code":
        parts.append("code inserted in a new cell below" if code else "no code block in the answer, no cell inserted")
    return " · ".join(parts)


def _short(text: str, limit: int = 100) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"
