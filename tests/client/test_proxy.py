"""GIGACHAT_PROXY / proxy=: OAuth and the API both go through a real CONNECT proxy (the emulator's OAuth host
named `localhost`, its API `127.0.0.1`, so the recorded tunnels tell them apart), Proxy-Authorization is sent,
NO_PROXY is honoured per host, HTTPS_PROXY keeps working, and the proxy's password is in no repr, error or log."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator

import pytest

from gigachat_mcp import AsyncGigaChat, ConfigError, GigaChat, GigaChatConnectionError, Settings
from gigachat_mcp.emulator import Emulator
from tests.connect_proxy import ConnectProxy, connect_proxy

pytestmark = pytest.mark.anyio
USER, PASSWORD = "alice", "s3cr:et/pw!"  # characters that must be percent-encoded in the URL
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY",
                   "no_proxy", "GIGACHAT_PROXY")


@pytest.fixture(autouse=True)
def no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def proxy() -> Iterator[ConnectProxy]:
    with connect_proxy(USER, PASSWORD) as running:
        yield running


def two_hosts(emulator: Emulator, **overrides) -> dict:
    """The emulator's settings with OAuth at `localhost` and the API at `127.0.0.1`: two hosts to tell apart."""
    settings = emulator.client_settings(token_cache="memory", max_retries=0, **overrides)
    settings["auth_url"] = settings["auth_url"].replace("127.0.0.1", "localhost")
    return settings


def hosts(emulator: Emulator) -> tuple[str, str]:
    port = emulator.base_url.split("://")[1].split("/")[0].rpartition(":")[2]
    return f"localhost:{port}", f"127.0.0.1:{port}"


def test_oauth_and_the_api_both_go_through_the_proxy_with_its_credentials(emulator: Emulator,
                                                                          proxy: ConnectProxy) -> None:
    with GigaChat(**two_hosts(emulator, proxy=proxy.url(USER, PASSWORD))) as giga:
        assert "heard" in giga.chat("hello").text
        assert "heard" in "".join(c.text for c in giga.stream("hello again"))
    oauth, api = hosts(emulator)
    assert proxy.targets == {oauth, api}
    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    assert {t.authorization for t in proxy.tunnels} == {expected}
    assert len(emulator.requests_to("chat")) == 2


async def test_the_async_client_goes_through_it_too(emulator: Emulator, proxy: ConnectProxy) -> None:
    async with AsyncGigaChat(**two_hosts(emulator, proxy=proxy.url(USER, PASSWORD))) as giga:
        assert "heard" in (await giga.chat("hello")).text
    assert proxy.targets == set(hosts(emulator))


def test_the_environment_variable_and_no_proxy_per_host(emulator: Emulator, proxy: ConnectProxy,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    oauth, api = hosts(emulator)
    monkeypatch.setenv("GIGACHAT_PROXY", proxy.url(USER, PASSWORD))
    monkeypatch.setenv("NO_PROXY", "localhost")  # the OAuth host only: localhost does not cover 127.0.0.1
    with GigaChat(**two_hosts(emulator)) as giga:
        giga.chat("hello")
    assert proxy.targets == {api}
    proxy.tunnels.clear()
    emulator.revoke_tokens()  # so the next client asks the OAuth host again
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    monkeypatch.delenv("NO_PROXY")
    with GigaChat(**two_hosts(emulator)) as giga:
        giga.chat("hello")
    assert proxy.targets == {oauth}
    proxy.tunnels.clear()
    emulator.revoke_tokens()
    with GigaChat(**two_hosts(emulator, no_proxy="*")) as giga:
        giga.chat("hello")
    assert proxy.tunnels == []


def test_https_proxy_keeps_working_and_gigachat_proxy_wins_over_it(emulator: Emulator, proxy: ConnectProxy,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url(USER, PASSWORD))
    with GigaChat(**two_hosts(emulator)) as giga:
        giga.chat("hello")
    assert proxy.targets == set(hosts(emulator))
    emulator.revoke_tokens()
    with connect_proxy() as other:  # no credentials needed
        with GigaChat(**two_hosts(emulator, proxy=other.url())) as giga:
            giga.chat("hello")
        assert other.targets == set(hosts(emulator))


def test_the_password_is_in_no_repr_error_or_log(emulator: Emulator, proxy: ConnectProxy,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    url = proxy.url(USER, PASSWORD)
    settings = Settings.resolve(environ={}, **two_hosts(emulator, proxy=url, log_level="DEBUG"))
    assert PASSWORD not in repr(settings) and "pw" not in repr(settings)
    assert f"proxy='http://***@127.0.0.1:{proxy.port}'" in repr(settings)
    assert any("pw" in secret for secret in settings.secrets)  # the MCP server's log filter masks it
    caplog.set_level(logging.DEBUG)
    with GigaChat(settings.replace(proxy=proxy.url(USER, "wrong:pw!"))) as giga:
        with pytest.raises(GigaChatConnectionError) as refused:
            giga.chat("hello")
        assert "pw" not in repr(giga)
    message = str(refused.value)
    assert "407" in message and "GIGACHAT_PROXY" in message and "wrong" not in message
    assert proxy.refused == 1 and emulator.requests_to("chat") == []
    with GigaChat(settings) as giga:
        giga.chat("hello")
    assert caplog.records and not any("pw" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("bad", ["socks5://u:hunter22@host:1080", "127.0.0.1:3128", "http://u:hunter22@:80",
                                 "http://u:hunter22@host:port"])
def test_a_bad_proxy_url_is_a_config_error_that_hides_the_password(bad: str,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="is not an HTTP proxy URL") as refused:
        Settings.resolve(environ={}, proxy=bad)
    assert "hunter22" not in str(refused.value) and "proxy=" in str(refused.value)
    monkeypatch.setenv("GIGACHAT_PROXY", bad)
    with pytest.raises(ConfigError, match="GIGACHAT_PROXY=") as refused:
        Settings.resolve()
    assert "hunter22" not in str(refused.value)


def test_a_proxy_password_is_redacted_but_not_part_of_the_keys_identity() -> None:
    """Replicas behind different proxies share one key's token: the proxy password is masked in logs, but the
    shared token's cache key and encryption come from the key alone."""
    from gigachat_mcp import Settings

    plain = Settings(credentials="a2V5OnNlY3JldA==")
    proxied = Settings(credentials="a2V5OnNlY3JldA==", proxy="http://me:hunter22@proxy.local:3128")
    assert "hunter22" in proxied.secrets
    assert proxied.key_material == plain.key_material
