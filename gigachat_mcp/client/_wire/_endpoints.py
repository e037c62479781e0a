"""The endpoints besides chat: models, token counts, embeddings, files, AI-text check, balance, and the token
requests of the two sign-in flows."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote

from .._errors import InvalidRequestError
from .._types import AICheck, FileInfo, Model, Token, TokenCount
from ._call import ACCEPT_JSON, Call, dumps

__all__ = ["ai_check_call", "balance_call", "count_tokens_call", "delete_file_call", "download_file_call",
           "embeddings_call", "get_file_call", "list_files_call", "models_call", "oauth_request", "parse_file_info",
           "parse_oauth", "password_token_url", "upload_call"]


def models_call(base_url: str) -> Call:
    return Call("GET", base_url + "/models", _parse_models, headers=ACCEPT_JSON)


def _parse_models(data: Any) -> list[Model]:
    return [Model(m["id"], m.get("owned_by", ""), m.get("type", "chat")) for m in data.get("data", ())]


def count_tokens_call(base_url: str, texts: Sequence[str], model: str) -> Call:
    return _texts_call(base_url + "/tokens/count", texts, model, _parse_token_counts)


def _parse_token_counts(data: Any) -> list[TokenCount]:
    return [TokenCount(item["tokens"], item.get("characters", 0)) for item in data]


def embeddings_call(base_url: str, texts: Sequence[str], model: str) -> Call:
    return _texts_call(base_url + "/embeddings", texts, model, _parse_embeddings)


def _parse_embeddings(data: Any) -> list[list[float]]:
    return [item["embedding"] for item in sorted(data["data"], key=lambda item: item.get("index", 0))]


def _texts_call(url: str, texts: Sequence[str] | str, model: str, parse: Callable[[Any], Any]) -> Call:
    items = [texts] if isinstance(texts, str) else list(texts)
    if not items or not all(isinstance(t, str) for t in items):
        raise InvalidRequestError("texts must be a str or a non-empty list of str.")
    return Call("POST", url, parse, body=dumps({"model": model, "input": items}), model=model)


# --- files -----------------------------------------------------------------------------------------------------

def upload_call(base_url: str, filename: str, content: Any, mime_type: str, purpose: str) -> Call:
    """Multipart POST /files; `content` is bytes or an open binary file, which httpx streams in small pieces."""
    if purpose not in ("general", "assistant"):
        raise InvalidRequestError(f"purpose must be 'general' or 'assistant', not {purpose!r}.")
    return Call("POST", base_url + "/files", parse_file_info, headers=ACCEPT_JSON,
                files={"file": (filename, content, mime_type)}, form={"purpose": purpose}, upload=True)


def list_files_call(base_url: str) -> Call:
    return Call("GET", base_url + "/files", lambda data: [parse_file_info(f) for f in data.get("data", ())],
                headers=ACCEPT_JSON)


def get_file_call(base_url: str, file_id: str) -> Call:
    return Call("GET", _file_url(base_url, file_id), parse_file_info, headers=ACCEPT_JSON,
                not_found=_missing(file_id))


def delete_file_call(base_url: str, file_id: str) -> Call:
    return Call("POST", _file_url(base_url, file_id) + "/delete", lambda data: bool(data.get("deleted")),
                headers=ACCEPT_JSON, not_found=_missing(file_id))


def download_file_call(base_url: str, file_id: str) -> Call:
    # The official SDK asks for application/jpg; the service answers with the file's own type.
    return Call("GET", _file_url(base_url, file_id) + "/content", bytes, headers={"Accept": "application/jpg"},
                raw=True, not_found=_missing(file_id))


def parse_file_info(data: Any) -> FileInfo:
    return FileInfo(id=data["id"], filename=data.get("filename", ""), bytes=int(data.get("bytes", 0)),
                    purpose=data.get("purpose", "general"), created_at=int(data.get("created_at", 0)),
                    access_policy=data.get("access_policy"))


def _file_url(base_url: str, file_id: str) -> str:
    if not isinstance(file_id, str) or not file_id.strip():
        raise InvalidRequestError(f"A file id is a non-empty str (FileInfo.id), not {file_id!r}.")
    return f"{base_url}/files/{quote(file_id, safe='')}"


def _missing(file_id: str) -> str:
    return (f"No file {file_id!r} for this key: it was deleted, or another key uploaded it (files are private "
            "to the key that uploaded them). list_files() shows this key's files.")


def ai_check_call(base_url: str, text: str, model: str = "GigaCheckDetection") -> Call:
    if not isinstance(text, str) or not text.strip():
        raise InvalidRequestError("check_ai takes the text to check, a non-empty str.")
    return Call("POST", base_url + "/ai/check", _parse_ai_check, body=dumps({"input": text, "model": model}),
                model=model, forbidden=(
                    "AI-text detection (/ai/check) is available only to corporate keys: use a key of scope "
                    "GIGACHAT_API_CORP (GIGACHAT_SCOPE=GIGACHAT_API_CORP), or ask your account manager to enable it."))


def _parse_ai_check(data: Any) -> AICheck:
    return AICheck(category=str(data.get("category", "")), characters=int(data.get("characters", 0)),
                   tokens=int(data.get("tokens", 0)),
                   ai_intervals=tuple((int(a), int(b)) for a, b in data.get("ai_intervals") or ()))


def balance_call(base_url: str) -> Call:
    return Call("GET", base_url + "/balance", lambda data: {b["usage"]: b["value"] for b in data.get("balance", ())},
                headers=ACCEPT_JSON)


# --- authentication --------------------------------------------------------------------------------------------

def oauth_request(auth_url: str, credentials: str, scope: str) -> tuple[str, dict[str, str], bytes]:
    """POST auth_url with Basic <key>, an RqUID and scope=...: the authorization-key flow."""
    headers = {
        "Authorization": f"Basic {credentials}",
        "RqUID": str(uuid.uuid4()),
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
    }
    return auth_url, headers, f"scope={quote(scope)}".encode()


def password_token_url(base_url: str) -> str:
    return base_url + "/token"


def parse_oauth(data: Any) -> Token:
    """{access_token, expires_at} from /api/v2/oauth, or {tok, exp} from /token; expiry in ms or s."""
    if "access_token" in data:
        return Token.from_expiry(data["access_token"], data.get("expires_at"))
    return Token.from_expiry(data["tok"], data.get("exp"))

