"""Messages both ways: a prompt or a list of {role, content} checked into one shape before anything is sent, and
a function call read back from either contract's answer."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .. import _functions
from .._errors import InvalidRequestError
from .._types import FunctionCall

__all__ = ["function_call", "normalise_messages"]

ROLES = frozenset({"system", "user", "assistant", "function", "tool", "search_result", "function_in_progress"})
STATE_KEYS = ("state_id", "functions_state_id", "tools_state_id", "tool_state_id")


def normalise_messages(prompt: str | Sequence[Mapping[str, Any]], system: str | None) -> list[dict[str, Any]]:
    """A str is one user message; a list is [{role, content}]; `system` becomes the first message."""
    messages: list[dict[str, Any]]
    if isinstance(prompt, str):
        messages = [{"role": "user", "content": prompt}]
    elif isinstance(prompt, Sequence):
        messages = [_checked_message(i, m) for i, m in enumerate(prompt)]  # type: ignore[arg-type]
    else:
        raise InvalidRequestError(f"prompt must be a str or a list of {{role, content}} dicts, not {type(prompt).__name__}.")
    if not messages:
        raise InvalidRequestError("messages is empty: pass a prompt or at least one message.")
    if system is not None:
        if messages[0]["role"] == "system":
            raise InvalidRequestError("Pass the system prompt either as system= or as the first message, not both.")
        messages.insert(0, {"role": "system", "content": system})
    if any(m["role"] == "system" for m in messages[1:]):
        raise InvalidRequestError("Only one system message is allowed, and it must come first.")
    return messages


def _checked_message(index: int, message: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(message, Mapping) or "role" not in message:
        raise InvalidRequestError(f"messages[{index}] must be a dict with 'role' and 'content'.")
    if message["role"] not in ROLES:
        raise InvalidRequestError(
            f"messages[{index}] has role {message['role']!r}; use one of system, user, assistant, function."
        )
    content = message.get("content", "")
    if message["role"] in ("function", "tool") and not isinstance(content, str):
        content = _functions.result_content(content)  # a function's result may be given as an object
    elif content is None and message.get("function_call"):
        content = ""
    if not isinstance(content, str):
        raise InvalidRequestError(f"messages[{index}]['content'] must be a str.")
    checked = {**message, "content": content}
    if checked["role"] == "tool":  # the OpenAI habit; GigaChat's v1 name for a function result is "function"
        checked["role"] = "function"
    if checked["role"] == "function" and not checked.get("name"):
        raise InvalidRequestError(f"messages[{index}] is a function result: give the function's 'name'.")
    state = next((checked.pop(key) for key in STATE_KEYS if key in checked), None)
    if state is not None:
        checked["state_id"] = state  # one name here; each contract's builder spells it its own way
    return checked


def function_call(data: Any) -> FunctionCall | None:
    """{name, arguments} from either contract; arguments given as JSON text become a dict."""
    if not isinstance(data, Mapping) or not data.get("name"):
        return None
    arguments = data.get("arguments") or {}
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except ValueError:
            arguments = {"_raw": arguments}  # kept, so the helper can tell the model its arguments were not JSON
    if not isinstance(arguments, dict):
        arguments = {"_raw": arguments}
    return FunctionCall(str(data["name"]), arguments)
