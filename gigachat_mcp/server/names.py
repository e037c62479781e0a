"""The names the server answers to: resource URIs, the id and model patterns, and what the patterns mean in words
(so an argument error says what to pass, not a regular expression)."""

from __future__ import annotations

import re

from .conversations import ID_PATTERN

__all__ = ["CONVERSATION_URI", "FILE_ID", "FILE_URI", "ID_PATTERN", "MODELS_URI", "MODEL_PATTERN", "PATTERN_WORDS",
           "conversation_uri"]

CONVERSATION_URI = "gigachat://conversations/{conversation_id}"
MODELS_URI = "gigachat://models"
FILE_URI = "gigachat://files/{file_id}"
FILE_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
MODEL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
PATTERN_WORDS = {  # what the patterns mean, for argument errors a model (and a person) can act on
    MODEL_PATTERN: "a model id such as GigaChat-2-Max (letters, digits, '.', '_', ':' or '-'; list_models names them)",
    ID_PATTERN: "the 16-character conversation_id an earlier chat result returned",
}


def conversation_uri(conversation_id: str) -> str:
    return CONVERSATION_URI.format(conversation_id=conversation_id)
