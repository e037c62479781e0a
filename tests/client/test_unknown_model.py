"""A mistyped model: the error names the near model this key offers (listed only then), in Python, the notebook
magic and `ask --emulator`, each with a way to list models that works where the user is."""

from __future__ import annotations

import pickle

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from gigachat_mcp import APIError
from gigachat_mcp.emulator import Emulator
from tests.helpers import async_client, sync_client

pytestmark = pytest.mark.anyio


def test_chat_and_stream_offer_the_near_model(emulator: Emulator) -> None:
    with sync_client(emulator) as giga:
        with pytest.raises(APIError) as chat:
            giga.chat("hi", model="GigaChat-2-Mxa")
        with pytest.raises(APIError) as stream:
            list(giga.stream("hi", model="GigaChat-2-Mxa"))
        with pytest.raises(APIError) as far:
            giga.chat("hi", model="Claude")
    for caught in (chat, stream):
        assert str(caught.value) == ("Model 'GigaChat-2-Mxa' does not exist for this key (404 No such model). Did "
                                     "you mean 'GigaChat-2-Max'? List the models it offers with `client.models()`.")
        assert caught.value.near_model == "GigaChat-2-Max" and caught.value.status_code == 404
    assert "Did you mean" not in str(far.value) and far.value.near_model is None
    assert pickle.loads(pickle.dumps(chat.value)).near_model == "GigaChat-2-Max"  # crosses process boundaries
    assert "`%gigachat models`" in chat.value.message_for(list_models="`%gigachat models`")
    assert "Did you mean 'GigaChat-2-Max'?" in chat.value.message_for(list_models="`%gigachat models`")


async def test_the_async_client_offers_it_too(emulator: Emulator) -> None:
    async with async_client(emulator) as giga:
        with pytest.raises(APIError, match="Did you mean 'GigaChat-2-Pro'"):
            await giga.chat("hi", model="gigachat-2-pro")


def test_the_magic_offers_it_with_its_own_way_to_list_models(emulator: Emulator,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in emulator.env(token_cache="memory").items():
        monkeypatch.setenv(name, value)
    ip = InteractiveShell.instance()
    ip.extension_manager.load_extension("gigachat_magics")
    try:
        with capture_output(), pytest.raises(APIError) as caught:
            ip.run_cell_magic("gigachat", "-m GigaChat-2-Mxa", "hi")
    finally:
        ip.extension_manager.unload_extension("gigachat_magics")
    [line] = caught.value._render_traceback_()
    assert "Did you mean 'GigaChat-2-Max'?" in line and line.endswith("with `%gigachat models`.")
