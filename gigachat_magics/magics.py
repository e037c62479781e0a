"""`%%gigachat` and `%gigachat`: GigaChat in IPython and Jupyter, streaming, with memory across cells.

The sync client runs in the kernel's main thread, so the stop button (KeyboardInterrupt) lands inside the
socket read: the stream stops, the connection closes at once, the partial text stays visible and marked, and
the interrupt propagates so queued cells do not run. Errors are one line, without a traceback.
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

from ._display import make_display
from ._history import Exchange, History

__all__ = ["GigaChatMagics"]

NOTEBOOK_KEY_HINT = (
    " In a notebook, set it without saving it into the notebook: `import os, getpass; "
    "os.environ['GIGACHAT_CREDENTIALS'] = getpass.getpass('GigaChat key: ')`, or export it before starting Jupyter."
)
_FENCE = re.compile(r"```[^\n`]*\n(.*?)```", re.DOTALL)
_TEMPLATE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
SUBCOMMANDS = ("models", "history", "reset", "usage", "config")


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

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self.history = History()
        self.usage = {"answers": 0, "prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        self._client: Any = None
        self._environment: dict[str, str] = {}

    # --- %%gigachat --------------------------------------------------------------------------------------------

    @magic_arguments()
    @argument("-m", "--model", help="model id, e.g. GigaChat-2-Max")
    @argument("-s", "--system", help="system prompt (starts a new conversation when it changes)")
    @argument("-t", "--temperature", type=float, help="sampling temperature")
    @argument("--max-tokens", type=int, help="upper bound on answer length")
    @argument("--new", action="store_true", help="start a new conversation")
    @argument("-o", "--output", metavar="VAR", help="also store the answer text in this variable")
    @argument("-f", "--format", choices=("markdown", "text", "code"),
              help="markdown (default), text, or code (the answer's code goes into a new cell below)")
    @argument("-T", "--template", action="store_true", help="fill {name} in the prompt from your variables")
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
        if args.template or self.template:
            prompt = _fill(prompt, self.shell.user_ns)
        system = args.system
        if args.new or (system is not None and system != self.history.system):
            self.history.reset(system if system is not None else self.system)
        elif not self.history.exchanges and self.history.system is None:
            self.history.system = self.system
        cell_id = _cell_id(self.shell)
        self.history.forget_cell(cell_id)
        messages = self.history.messages(prompt, self.max_history)
        fmt = args.format or self.output_format
        options = {
            "model": args.model or self.model,
            "temperature": args.temperature if args.temperature is not None else self.temperature,
            "max_tokens": args.max_tokens if args.max_tokens is not None else self.max_tokens,
        }
        text = self._stream(messages, options, fmt)
        self.history.add(Exchange(prompt, text, cell_id), self.max_history)
        if args.output:
            self.shell.user_ns[args.output] = text
        if fmt == "code":
            self.shell.set_next_input(_code_of(text), replace=False)

    def _stream(self, messages: list[dict[str, str]], options: dict[str, Any], fmt: str) -> str:
        from gigachat_mcp import AuthenticationError, ConfigError, GigaChatError

        giga = self._giga()
        view = make_display(self.shell, fmt, self.update_interval)
        started = time.monotonic()
        final = None
        try:
            with contextlib.closing(giga.stream(messages, **options)) as chunks:
                for chunk in chunks:
                    if chunk.text:
                        view.add(chunk.text)
                    if chunk.finish_reason is not None:
                        final = chunk
        except KeyboardInterrupt:
            view.finish("interrupted")
            raise
        except GigaChatError as exc:
            if view.parts:
                view.finish("stopped by an error")
            if isinstance(exc, (ConfigError, AuthenticationError)):
                self._client = None  # the next cell re-reads the environment
            hint = NOTEBOOK_KEY_HINT if "GIGACHAT_CREDENTIALS" in str(exc) and isinstance(exc, ConfigError) else ""
            raise UsageError(f"GigaChat: {exc}{hint}") from None
        text = "".join(view.parts)
        view.finish()
        if final is not None and final.usage is not None:
            for name in ("prompt_tokens", "completion_tokens", "total_tokens"):
                self.usage[name] += getattr(final.usage, name)
        self.usage["answers"] += 1
        if self.show_status:
            view.note(_status(final, time.monotonic() - started, fmt))
        return text

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
                raise UsageError(f"GigaChat: {exc}") from None
            self._environment = environment
        return self._client

    # --- %gigachat ---------------------------------------------------------------------------------------------

    @line_magic("gigachat")  # type: ignore[arg-type]  # IPython's stubs type the named form as Never
    def gigachat_line(self, line: str) -> None:
        """%gigachat models | history | reset | usage | config"""
        command = line.strip()
        if command not in SUBCOMMANDS:
            raise UsageError(f"%gigachat takes one of: {', '.join(SUBCOMMANDS)}. Ask with %%gigachat in a cell.")
        getattr(self, f"_{command}")()

    def _models(self) -> None:
        from gigachat_mcp import GigaChatError

        try:
            models = self._giga().models()
        except GigaChatError as exc:
            raise UsageError(f"GigaChat: {exc}") from None
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
            print(f"    assistant: {_short(exchange.assistant)}")

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
    """Replace {name} with str(value) for names defined in the namespace; every other brace stays as it is."""
    return _TEMPLATE.sub(lambda m: str(namespace[m.group(1)]) if m.group(1) in namespace else m.group(0), prompt)


def _code_of(text: str) -> str:
    blocks = _FENCE.findall(text)
    return "\n".join(block.strip("\n") for block in blocks) if blocks else text.strip()


def _status(final: Any, seconds: float, fmt: str) -> str:
    parts = [final.model if final is not None and final.model else "GigaChat", f"{seconds:.1f} s"]
    if final is not None and final.usage is not None:
        parts.append(f"{final.usage.prompt_tokens} → {final.usage.completion_tokens} tokens")
    if final is not None and final.finish_reason not in (None, "stop"):
        parts.append(f"finish: {final.finish_reason}")
    if fmt == "code":
        parts.append("code inserted in a new cell below")
    return " · ".join(parts)


def _short(text: str, limit: int = 100) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"
