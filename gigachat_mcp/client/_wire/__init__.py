"""Pure request builders and response parsers for the GigaChat API, one module per contract or concern.

Nothing here does I/O, so the sync and async clients share every byte of it. A `Call` is one request plus how to
read its answer; the clients only send it. This package's names are the ones the rest of the client uses:

    _call        Call, ChatOptions, the headers and the JSON encoding every request shares
    _messages    prompts and message lists checked into one shape; function calls read back
    _tools       tools= and tool_choice=: built-in tools per contract, function specs, callables
    _chat        chat_call: the configured contract's chat request
    _chat_v1     the v1 chat body and answer
    _chat_v2     the v2 chat body and answer, and the readers of its messages the stream decoder shares
    _filters     file markup and citation marks taken out of answer text, even split across a stream
    _endpoints   models, token counts, embeddings, files, AI check, balance, token requests
    _errors      error answers (OAuth and API) to typed errors
    _batches     the Batch API: JSONL in, batch status, the output file's lines by id
"""

from ._batches import (
    MAX_BATCH_LINES,
    Batch,
    BatchLine,
    batch_chat_request,
    batch_jsonl,
    create_batch_call,
    get_batch_call,
    parse_batch_output,
    read_batch_call,
)
from ._call import Call, ChatOptions, dumps
from ._chat import chat_call
from ._chat_v1 import parse_chat_v1, usage_v1
from ._chat_v2 import files_v2, function_call_v2, reasoning_v2, sources_v2, state_v2, text_v2, usage_v2, v2_chat_url
from ._endpoints import (
    ai_check_call,
    balance_call,
    count_tokens_call,
    delete_file_call,
    download_file_call,
    embeddings_call,
    get_file_call,
    list_files_call,
    models_call,
    oauth_request,
    parse_oauth,
    password_token_url,
    upload_call,
)
from ._errors import api_error, oauth_error, retry_after_seconds
from ._filters import MarkupFilter, SourceMarks
from ._messages import function_call, normalise_messages
from ._tools import BUILTIN_TOOLS, NO_TOOLS, Tools, contract_for, normalise_tools

__all__ = [
    "BUILTIN_TOOLS",
    "MAX_BATCH_LINES",
    "NO_TOOLS",
    "Batch",
    "BatchLine",
    "Call",
    "ChatOptions",
    "MarkupFilter",
    "SourceMarks",
    "Tools",
    "ai_check_call",
    "api_error",
    "balance_call",
    "batch_chat_request",
    "batch_jsonl",
    "chat_call",
    "contract_for",
    "count_tokens_call",
    "create_batch_call",
    "delete_file_call",
    "download_file_call",
    "dumps",
    "embeddings_call",
    "files_v2",
    "function_call",
    "function_call_v2",
    "get_batch_call",
    "get_file_call",
    "list_files_call",
    "models_call",
    "normalise_messages",
    "normalise_tools",
    "oauth_error",
    "oauth_request",
    "parse_oauth",
    "parse_batch_output",
    "parse_chat_v1",
    "password_token_url",
    "read_batch_call",
    "reasoning_v2",
    "retry_after_seconds",
    "sources_v2",
    "state_v2",
    "text_v2",
    "upload_call",
    "usage_v1",
    "usage_v2",
    "v2_chat_url",
]
