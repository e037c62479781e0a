"""What the service tells about models and the account: the model list, token counts, embeddings, the prepaid
balance and AI-text detection."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import _abilities, _answers
from .._http import API_V1, Call, Route, json_object, send_error

if TYPE_CHECKING:
    from .._api import API

__all__ = ["ROUTES", "embedding_answer", "scope_of"]


def models(api: API, call: Call) -> None:
    def entry(name: str) -> dict[str, str]:
        return {"id": name, "object": "model", "owned_by": "salutedevices", "type": _answers.MODELS[name]}

    model_id = call.params.get("model")
    if model_id is None:
        return call.conn.send_json(200, {"object": "list", "data": [entry(name) for name in _answers.MODELS]})
    if model_id not in _answers.MODELS:
        return send_error(call.conn, 404, "No such model")
    call.conn.send_json(200, entry(model_id))


def _inputs(request: dict[str, Any] | None) -> tuple[str, list[str]] | tuple[int, str]:
    """(model, texts) of a tokens-count or embeddings request, or the (status, message) refusing it."""
    inputs = request.get("input") if request is not None else None
    if isinstance(inputs, str):
        inputs = [inputs]
    if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs):
        return 422, "Invalid params: input must be a list of strings"
    model = request.get("model") if request is not None else None
    if model not in _answers.MODELS:
        return 404, "No such model"
    return str(model), inputs


def tokens_count(api: API, call: Call) -> None:
    found = _inputs(json_object(call.body))
    if isinstance(found[0], int):
        return send_error(call.conn, *found)
    call.conn.send_json(200, [{"object": "tokens", "tokens": _answers.count_tokens(t), "characters": len(t)}
                              for t in found[1]])


def embedding_answer(request: dict[str, Any] | None) -> tuple[int, Any]:
    """(200, the embeddings body) or (status, message): the endpoint's answer, which a batch line gets too."""
    found = _inputs(request)
    if isinstance(found[0], int):
        return found
    model, inputs = found
    if _answers.MODELS[str(model)] != "embedder":
        return 422, f"Model {model} is not an embedder"
    data = [{"object": "embedding", "embedding": _answers.embed(t), "index": i,
             "usage": {"prompt_tokens": _answers.count_tokens(t)}} for i, t in enumerate(inputs)]
    return 200, {"object": "list", "data": data, "model": model}


def embeddings(api: API, call: Call) -> None:
    status, body = embedding_answer(json_object(call.body))
    if status != 200:
        return send_error(call.conn, status, body)
    call.conn.send_json(200, body)


def balance(api: API, call: Call) -> None:
    scope = api.credentials.get(call.owner, "GIGACHAT_API_PERS")
    if scope == "GIGACHAT_API_CORP":
        return send_error(call.conn, 403, "Permission denied")
    call.conn.send_json(200, {"balance": [{"usage": "GigaChat-2", "value": 1_000_000},
                                          {"usage": "embeddings", "value": 5_000_000}]})


def ai_check(api: API, call: Call) -> None:
    """AI-text detection: corporate keys only; sentences naming GigaChat count as written by a model."""
    if scope_of(api, call.owner) != "GIGACHAT_API_CORP":
        return send_error(call.conn, 403, "Permission denied")
    request = json_object(call.body)
    text = request.get("input") if request is not None else None
    if request is None or not isinstance(text, str) or not text:
        return send_error(call.conn, 422, "Invalid params: input must be a non-empty string")
    model = request.get("model", "GigaCheckDetection")
    if _answers.MODELS.get(model) != "aicheck":
        return send_error(call.conn, 404, "No such model")
    call.conn.send_json(200, _abilities.ai_check(text))


def scope_of(api: API, owner: str) -> str:
    if owner == "mtls" or owner.startswith("user:"):
        return "GIGACHAT_API_CORP"
    return api.credentials.get(owner, "GIGACHAT_API_PERS")


ROUTES = (
    Route("GET", API_V1, "/models", "models", models),
    Route("GET", API_V1, "/models/(?P<model>.+)", "models", models),
    Route("POST", API_V1, "/tokens/count", "tokens_count", tokens_count),
    Route("POST", API_V1, "/embeddings", "embeddings", embeddings),
    Route("GET", API_V1, "/balance", "balance", balance),
    Route("POST", API_V1, "/ai/check", "ai_check", ai_check),
)
