"""Prompts a user picks from the host's prompt menu (slash commands in Claude Code, VS Code, Goose, ...).

Each one fills in a request to the host's model: call GigaChat's `chat` tool with a prompt written here, in
Russian where the job is Russian, then report back. Arguments are typed (bounded strings, fixed choices), so a
wrong choice is refused by the host's prompts/get before anything is asked.

Imported only by server.py (this module uses mcp; the core never does).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal, get_args, get_origin, get_type_hints

from mcp import MCPError
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.types import INVALID_PARAMS
from pydantic import Field, ValidationError

from .names import MODEL_PATTERN

__all__ = ["register_prompts"]

Text = Annotated[str, Field(min_length=1, max_length=100_000)]
Model = Annotated[str | None, Field(pattern=MODEL_PATTERN, description=(
    "GigaChat model to ask, e.g. GigaChat-2-Max (default: the server's); the host can complete the name."))]
_MISSING = re.compile(r"^Missing required arguments: (\{.*\})$")
LANGUAGES = {"ru": "русский", "en": "английский", "de": "немецкий", "fr": "французский", "es": "испанский",
             "zh": "китайский", "kk": "казахский", "uz": "узбекский", "be": "белорусский", "uk": "украинский"}
FOCUS_ANSWER = {"all": "точность фактов, логика, полнота и ясность", "facts": "точность фактов и цифр",
                "logic": "логика и обоснованность выводов", "clarity": "ясность и понятность изложения"}
FOCUS_CODE = {"all": "ошибки, читаемость, безопасность и производительность", "bugs": "ошибки и граничные случаи",
              "readability": "читаемость, имена и структура", "security": "безопасность и обработка входных данных",
              "performance": "производительность и расход памяти"}


def _fence(text: str) -> str:
    """Quote `text` in a fence longer than any backtick run inside it, so it cannot close the fence early."""
    longest, run = 0, 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{text}\n{fence}"


def _ask(gigachat_prompt: str, then: str, model: str | None = None) -> str:
    which = f'with model "{model}" and ' if model else "with "
    return (f"Call the `chat` tool of the GigaChat server {which}exactly this prompt (keep it in Russian), "
            f"then {then}\n\n{_fence(gigachat_prompt)}")


def _in_words(reason: str) -> str:
    """The SDK's 'Missing required arguments: {'a'}' (a Python set) as a sentence."""
    found = _MISSING.match(reason)
    if not found:
        return reason
    try:
        names = sorted(ast.literal_eval(found.group(1)))
    except (ValueError, SyntaxError):
        return reason
    quoted = ", ".join(f"'{name}'" for name in names)
    return (f"the required argument {quoted} is missing" if len(names) == 1
            else f"the required arguments {quoted} are missing")


def literal_choices(prompt: Callable[..., Any]) -> dict[str, list[str]]:
    """The fixed choices of a prompt's arguments, read from its Literal annotations (what completions offer)."""
    choices = {}
    for name, hint in get_type_hints(prompt, include_extras=True).items():
        inner = get_args(hint)[0] if get_args(hint) and hasattr(hint, "__metadata__") else hint
        if get_origin(inner) is Literal:
            choices[name] = [str(value) for value in get_args(inner)]
    return choices


async def _refuse_bad_arguments(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Middleware: a prompt's bad or missing argument is the caller's error (invalid params, naming the argument
    and what it accepts), not an internal error with a traceback in the log."""
    if ctx.method != "prompts/get":
        return await call_next(ctx)
    try:
        return await call_next(ctx)
    except ValueError as exc:
        reasons, cause = [], exc
        while cause is not None:
            if isinstance(cause, ValidationError):
                reasons = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in cause.errors()]
                break
            reasons = [_in_words(str(cause))]
            cause = cause.__cause__  # type: ignore[assignment]
        name = (ctx.params or {}).get("name", "?")
        raise MCPError(code=INVALID_PARAMS, message=f"Bad arguments for prompt {name!r}: {'; '.join(reasons)}. "
                       "Fix them and pick the prompt again.") from None


def register_prompts(server: MCPServer) -> dict[str, dict[str, list[str]]]:
    """Register the prompts on `server` (its prompts capability then lists them). Returns each prompt's arguments
    with fixed choices (and `model`, whose choices are the key's models), for completions."""
    server.middleware.append(_refuse_bad_arguments)

    @server.prompt(name="second_opinion", title="Second opinion from GigaChat (in Russian)")
    def second_opinion(
        answer: Annotated[Text, Field(description="The answer to check (paste the current answer).")],
        question: Annotated[str | None, Field(max_length=20_000, description="What was asked, if it helps.")] = None,
        focus: Annotated[Literal["all", "facts", "logic", "clarity"], Field(
            description="What to check: all, facts, logic or clarity.")] = "all",
        model: Model = None,
    ) -> str:
        """Ask GigaChat to check an answer and give its own view, in Russian."""
        asked = f"Вопрос:\n{_fence(question)}\n\n" if question else ""
        request = (f"{asked}Ответ, который нужно проверить:\n{_fence(answer)}\n\n"
                   f"Дай второе мнение на русском языке. Проверь: {FOCUS_ANSWER[focus]}. Перечисли, с чем ты "
                   "согласен, что неверно или спорно (и почему), и чего не хватает. Закончи коротким выводом.")
        return _ask(request, "show me GigaChat's opinion and say briefly where it differs from the answer.", model)

    @server.prompt(name="translate", title="Translate with GigaChat")
    def translate(
        text: Annotated[Text, Field(description="The text to translate.")],
        target_language: Annotated[Literal["ru", "en", "de", "fr", "es", "zh", "kk", "uz", "be", "uk"], Field(
            description="Language to translate into (ISO 639-1 code): ru, en, de, fr, es, zh, kk, uz, be, uk.")
        ] = "ru",
        register: Annotated[Literal["neutral", "formal", "informal"], Field(
            description="Tone of the translation: neutral, formal or informal.")] = "neutral",
        model: Model = None,
    ) -> str:
        """Translate a text with GigaChat, keeping formatting, code and names intact."""
        tone = {"neutral": "нейтральный", "formal": "официальный (на «вы»)", "informal": "разговорный (на «ты»)"}
        request = (f"Переведи текст ниже на {LANGUAGES[target_language]} язык. Стиль: {tone[register]}. "
                   "Сохрани разметку Markdown, код, имена и числа без изменений. Выведи только перевод.\n\n"
                   f"{_fence(text)}")
        return _ask(request, "give me the translation as GigaChat wrote it.", model)

    @server.prompt(name="review_code_ru", title="Code review in Russian (GigaChat)")
    def review_code_ru(
        code: Annotated[Text, Field(description="The code (or diff) to review.")],
        language: Annotated[str | None, Field(max_length=40, pattern=r"^[A-Za-z0-9 +#._-]+$", description=(
            "Programming language, e.g. python or TypeScript."))] = None,
        focus: Annotated[Literal["all", "bugs", "readability", "security", "performance"], Field(
            description="What to look at: all, bugs, readability, security or performance.")] = "all",
        model: Model = None,
    ) -> str:
        """A code review written in Russian for Russian-speaking readers, by GigaChat."""
        lang = f" на {language}" if language else ""
        request = (f"Сделай ревью кода{lang} для русскоязычной команды. Главное: {FOCUS_CODE[focus]}. "
                   "Для каждого замечания укажи место (строку или функцию), почему это проблема и как исправить "
                   "(с примером кода). Начни с самых важных замечаний; в конце — короткий итог.\n\n"
                   f"{_fence(code)}")
        return _ask(request, "show me the review as GigaChat wrote it (in Russian).", model)

    return {prompt.__name__: literal_choices(prompt) for prompt in (second_opinion, translate, review_code_ru)}
