"""Independent evidence for the wire: the official `gigachat` SDK against our emulator, over TLS.

The emulator's parser was written beside our client's builder, so agreement between those two proves little.
Here the SDK (written by Sber, not us) must work against the emulator, sync and async, on every endpoint we
call; and for the same call, what our client sends must match what the SDK sends (method, path, JSON body,
and the headers the service cares about), and the facts recorded from real traffic in
shared/reference/gigachat-api.md (pinned below as literals, with where they come from).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs

import gigachat  # the official SDK, in the test extra: a missing SDK fails loudly, it is never skipped
import pytest

from gigachat_mcp import APIError, AsyncGigaChat, GigaChat
from gigachat_mcp.emulator import Emulator, RecordedRequest

pytestmark = [pytest.mark.anyio,  # the SDK passes httpx a CA path, which httpx 0.28 deprecates: theirs to fix
              pytest.mark.filterwarnings("ignore:`verify=<str>` is deprecated:DeprecationWarning")]

PROMPT = "Same words from both clients [emulator words=12]"
MODEL = "GigaChat-2"
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$")

# From the reference (gigachat-api.md), each taken from the SDK source or the service's docs and recordings:
# 1a: OAuth is a form POST with Basic auth and an RqUID matching ([0-9a-fA-F-]){36}; the SDK sends a uuid4.
OAUTH_HEADERS = {"authorization": "Basic ***", "content-type": "application/x-www-form-urlencoded"}
# 2a: every API call carries Bearer and JSON; streams add Accept: text/event-stream and Cache-Control: no-store.
API_HEADERS = {"authorization": "Bearer ***"}
JSON_BODY_HEADERS = {"content-type": "application/json"}
STREAM_HEADERS = {"accept": "text/event-stream", "cache-control": "no-store", "content-type": "application/json"}
# 2b: the recorded v2 request: {"model":..., "messages":[{"role":"user","content":[{"text":"..."}]}], "stream":true}
V2_RECORDED_REQUEST = {"model": "GigaChat-3-Ultra", "messages": [{"role": "user", "content": [{"text": "..."}]}],
                       "stream": True}


@pytest.fixture
def sdk(emulator: Emulator) -> Iterator[Any]:
    settings = emulator.client_settings()
    with gigachat.GigaChat(credentials=settings["credentials"], base_url=settings["base_url"],
                           auth_url=settings["auth_url"], ca_bundle_file=settings["ca_bundle_file"],
                           model=MODEL) as client:
        yield client


@pytest.fixture
def ours(emulator: Emulator) -> Iterator[GigaChat]:
    with GigaChat(**emulator.client_settings(token_cache="memory")) as client:
        yield client


@pytest.fixture
def ours_v2(emulator: Emulator) -> Iterator[GigaChat]:
    with GigaChat(**emulator.client_settings(token_cache="memory", api_version="v2")) as client:
        yield client


def requests_made(emulator: Emulator, action: Callable[[], Any]) -> tuple[Any, list[RecordedRequest]]:
    before = len(emulator.requests)
    result = action()
    return result, emulator.requests[before:]


def only(requests: list[RecordedRequest], endpoint: str) -> RecordedRequest:
    matching = [r for r in requests if r.endpoint == endpoint]
    assert len(matching) == 1, [(r.method, r.path) for r in requests]
    return matching[0]


def headers_that_matter(request: RecordedRequest, streaming: bool) -> dict[str, str]:
    """The headers the service reads. User-Agent names each client, and Accept on a JSON call differs
    harmlessly (the SDK says */*, we say application/json), so those two are left out."""
    names = ["authorization", "content-type", "rquid"] + (["accept", "cache-control"] if streaming else [])
    return {name: request.headers[name] for name in names if name in request.headers}


def comparable_body(body: Any) -> Any:
    """`"stream": false` is the API's default: sending it or not is the same request."""
    if isinstance(body, dict) and body.get("stream") is False:
        body = {k: v for k, v in body.items() if k != "stream"}
    return body


# --- the SDK works against the emulator -------------------------------------------------------------------------

def test_official_sdk_sync_every_endpoint(sdk: Any, ours: GigaChat) -> None:
    answer = sdk.chat(PROMPT)
    assert answer.choices[0].message.content == ours.chat(PROMPT).text
    assert answer.choices[0].finish_reason == "stop" and answer.usage.total_tokens > 0
    chunks = list(sdk.stream(PROMPT))
    assert len(chunks) > 5
    assert "".join(c.choices[0].delta.content for c in chunks) == "".join(c.text for c in ours.stream(PROMPT))
    assert [m.id_ for m in sdk.get_models().data] == [m.id for m in ours.models()]
    assert sdk.get_model(MODEL).id_ == MODEL
    counted = sdk.tokens_count(["one two three", "four"], model=MODEL)
    assert [(c.tokens, c.characters) for c in counted] == [(c.tokens, c.characters)
                                                         for c in ours.count_tokens(["one two three", "four"])]
    vectors = sdk.embeddings(["a text"]).data
    assert [v.embedding for v in vectors] == ours.embeddings(["a text"])
    assert {b.usage: b.value for b in sdk.get_balance().balance} == ours.balance()


def test_official_sdk_primary_v2_chat_and_stream(sdk: Any, ours_v2: GigaChat) -> None:
    answer = sdk.chat.create(PROMPT)
    assert answer.messages[0].content[0].text == ours_v2.chat(PROMPT).text
    assert answer.finish_reason == "stop" and answer.usage.output_tokens > 0
    chunks = list(sdk.chat.stream(PROMPT))
    texts = [part.text for c in chunks for m in c.messages or () for part in m.content or () if part.text]
    assert len(texts) > 5
    assert "".join(texts) == "".join(c.text for c in ours_v2.stream(PROMPT))


async def test_official_sdk_async_every_endpoint(emulator: Emulator, sdk: Any) -> None:
    async with AsyncGigaChat(**emulator.client_settings(token_cache="memory")) as ours:
        assert (await sdk.achat(PROMPT)).choices[0].message.content == (await ours.chat(PROMPT)).text
        theirs = [c.choices[0].delta.content async for c in sdk.astream(PROMPT)]
        assert len(theirs) > 5 and "".join(theirs) == "".join([c.text async for c in ours.stream(PROMPT)])
        assert [m.id_ for m in (await sdk.aget_models()).data] == [m.id for m in await ours.models()]
        counted = await sdk.atokens_count(["one two three"], model=MODEL)
        assert [c.tokens for c in counted] == [c.tokens for c in await ours.count_tokens(["one two three"])]
        assert (await sdk.aembeddings(["a text"])).data[0].embedding == (await ours.embeddings(["a text"]))[0]
        assert {b.usage: b.value for b in (await sdk.aget_balance()).balance} == await ours.balance()


# --- what our client sends is what the SDK sends --------------------------------------------------------------

def test_oauth_request_matches_the_sdk_and_the_reference(emulator: Emulator, sdk: Any, ours: GigaChat) -> None:
    _, theirs = requests_made(emulator, lambda: sdk.get_models())
    _, mine = requests_made(emulator, lambda: ours.models())
    for request in (only(theirs, "oauth"), only(mine, "oauth")):
        assert (request.method, request.path) == ("POST", "/api/v2/oauth")
        assert {k: request.headers.get(k) for k in OAUTH_HEADERS} == OAUTH_HEADERS
        assert UUID.match(request.headers["rquid"])
        assert parse_qs(request.body) == {"scope": ["GIGACHAT_API_PERS"]}
    assert only(mine, "oauth").headers["rquid"] != only(theirs, "oauth").headers["rquid"]  # fresh per request


CALLS: dict[str, tuple[str, bool, Callable[[Any], Any], Callable[[GigaChat], Any]]] = {
    # name: (endpoint, streaming, the SDK's call, our call) for the same request
    "chat": ("chat", False, lambda sdk: sdk.chat(PROMPT), lambda ours: ours.chat(PROMPT)),
    "chat with options": ("chat", False,
                          lambda sdk: sdk.chat({"model": MODEL, "temperature": 0.3, "max_tokens": 50,
                                                "messages": [{"role": "system", "content": "Be brief"},
                                                             {"role": "user", "content": PROMPT}]}),
                          lambda ours: ours.chat(PROMPT, system="Be brief", temperature=0.3, max_tokens=50)),
    "stream": ("chat", True, lambda sdk: list(sdk.stream(PROMPT)), lambda ours: list(ours.stream(PROMPT))),
    "models": ("models", False, lambda sdk: sdk.get_models(), lambda ours: ours.models()),
    "tokens count": ("tokens_count", False, lambda sdk: sdk.tokens_count(["one two"], model=MODEL),
                     lambda ours: ours.count_tokens(["one two"])),
    "embeddings": ("embeddings", False, lambda sdk: sdk.embeddings(["a text"]),
                   lambda ours: ours.embeddings(["a text"])),
    "balance": ("balance", False, lambda sdk: sdk.get_balance(), lambda ours: ours.balance()),
}


@pytest.mark.parametrize("name", CALLS)
def test_our_request_is_the_sdks_request(emulator: Emulator, sdk: Any, ours: GigaChat, name: str) -> None:
    endpoint, streaming, theirs_call, our_call = CALLS[name]
    sdk.get_token(), ours.models()  # both hold a token, so only the call itself is compared
    _, theirs = requests_made(emulator, lambda: theirs_call(sdk))
    _, mine = requests_made(emulator, lambda: our_call(ours))
    sdk_request, our_request = only(theirs, endpoint), only(mine, endpoint)
    assert (our_request.method, our_request.path) == (sdk_request.method, sdk_request.path)
    assert comparable_body(our_request.body) == comparable_body(sdk_request.body)
    assert headers_that_matter(our_request, streaming) == headers_that_matter(sdk_request, streaming)
    expected = {**API_HEADERS, **(STREAM_HEADERS if streaming else JSON_BODY_HEADERS if our_request.body else {})}
    assert headers_that_matter(our_request, streaming) == expected  # and both match the reference


@pytest.mark.parametrize("streaming", [False, True])
def test_our_v2_request_is_the_sdks_and_the_recorded_shape(emulator: Emulator, sdk: Any, ours_v2: GigaChat,
                                                          streaming: bool) -> None:
    sdk.get_token(), ours_v2.models()
    theirs_call = (lambda: list(sdk.chat.stream(PROMPT))) if streaming else (lambda: sdk.chat.create(PROMPT))
    our_call = (lambda: list(ours_v2.stream(PROMPT))) if streaming else (lambda: ours_v2.chat(PROMPT))
    _, theirs = requests_made(emulator, theirs_call)
    _, mine = requests_made(emulator, our_call)
    sdk_request, our_request = only(theirs, "chat"), only(mine, "chat")
    assert (our_request.method, our_request.path) == (sdk_request.method, sdk_request.path) == (
        "POST", "/v2/chat/completions")
    assert comparable_body(our_request.body) == comparable_body(sdk_request.body)
    assert headers_that_matter(our_request, streaming) == headers_that_matter(sdk_request, streaming)
    assert headers_that_matter(our_request, streaming) == {**API_HEADERS,
                                                           **(STREAM_HEADERS if streaming else JSON_BODY_HEADERS)}

    def shape(value: Any) -> Any:  # the recording's keys and nesting, with our values
        if isinstance(value, dict):
            return {k: shape(v) for k, v in value.items() if k != "stream"}
        if isinstance(value, list):
            return [shape(v) for v in value]
        return type(value).__name__

    assert shape(our_request.body) == shape(V2_RECORDED_REQUEST)
    assert our_request.body["stream"] is streaming


# --- the emulator insists on what the service insists on ------------------------------------------------------

def test_oauth_without_a_valid_rquid_is_refused_like_the_service(emulator: Emulator) -> None:
    import httpx

    with httpx.Client(verify=_context(emulator)) as http:
        for headers in ({}, {"RqUID": "not-a-uuid"}):
            response = http.post(emulator.auth_url, data={"scope": "GIGACHAT_API_PERS"},
                                 headers={"Authorization": f"Basic {emulator.credentials}", **headers})
            assert response.status_code == 400, headers
    assert emulator.oauth_calls == 2 and emulator.issued_tokens == []


@pytest.mark.parametrize(("accept", "status"), [("application/json", 406), ("text/event-stream", 200),
                                                ("*/*", 200), ("text/event-stream;q=0, application/json", 406)])
def test_a_stream_is_served_only_to_a_client_that_accepts_it(emulator: Emulator, ours: GigaChat, accept: str,
                                                             status: int) -> None:
    import httpx

    ours.models()
    token = ours._auth.header()
    with httpx.Client(verify=_context(emulator)) as http:
        response = http.post(f"{emulator.base_url}/chat/completions",
                             json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "stream": True},
                             headers={"Authorization": token, "Accept": accept})
    assert response.status_code == status
    if status == 406:
        assert response.json() == {"status": 406, "message": "Not Acceptable: a stream is text/event-stream"}
    else:
        assert response.headers["content-type"] == "text/event-stream" and "data: [DONE]" in response.text


def test_our_stream_refused_by_the_service_is_a_typed_error(emulator: Emulator, ours: GigaChat) -> None:
    emulator.add_fault("chat", status=406, message="Not Acceptable")
    with pytest.raises(APIError) as caught:
        list(ours.stream("hi"))
    assert caught.value.status_code == 406 and caught.value.message == "Not Acceptable"


def _context(emulator: Emulator) -> Any:
    import ssl

    return ssl.create_default_context(cafile=emulator.ca_file)
