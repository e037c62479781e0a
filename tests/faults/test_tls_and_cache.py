"""TLS trouble and token-cache trouble: each a typed error saying what to do, or absorbed without a trace."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from gigachat_mcp import ConfigError, GigaChat, TLSError
from gigachat_mcp.emulator import Emulator
from tests.helpers import sync_client


def without_ca(emulator: Emulator) -> dict:
    settings = emulator.client_settings()
    del settings["ca_bundle_file"]
    return settings


def test_unknown_ca_names_the_variable_to_set(emulator: Emulator) -> None:
    with GigaChat(**without_ca(emulator)) as giga, pytest.raises(TLSError) as caught:
        giga.chat("hi")
    assert "a CA this client does not trust" in str(caught.value)
    assert "GIGACHAT_CA_BUNDLE_FILE=/path/to/ca.pem" in str(caught.value)
    assert emulator.requests == []  # nothing was sent in the clear


def test_wrong_host_name_says_to_check_the_urls() -> None:
    with Emulator(cert_hostnames=("gigachat.invalid",)) as emu, GigaChat(**emu.client_settings()) as giga:
        with pytest.raises(TLSError, match="not issued for that host name. Check GIGACHAT_BASE_URL"):
            giga.chat("hi")


def test_expired_certificate_says_to_check_the_clock() -> None:
    with Emulator(cert_expired=True) as emu, GigaChat(**emu.client_settings()) as giga:
        with pytest.raises(TLSError, match="has expired .or this machine's clock is wrong"):
            giga.chat("hi")


def test_ca_bundle_file_missing_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="^ca_bundle_file points at .* which is not a readable file"):
        GigaChat(credentials="a:b", ca_bundle_file=str(tmp_path / "missing.pem"))


@pytest.mark.parametrize("content", [b"not a certificate at all\n", bytes(range(256)) * 4])
def test_ca_bundle_file_not_pem_is_a_config_error_with_the_conversion(emulator: Emulator, tmp_path: Path,
                                                                      content: bytes) -> None:
    bad = tmp_path / "ca.cer"
    bad.write_bytes(content)
    with GigaChat(**emulator.client_settings(ca_bundle_file=str(bad))) as giga:
        with pytest.raises(ConfigError, match="holds no PEM certificate.*openssl x509 -inform der"):
            giga.chat("hi")


def test_verification_off_is_explicit_and_warns_once(emulator: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    import gigachat_mcp.client._tls as tls

    tls._warned_insecure = False
    with GigaChat(**without_ca(emulator), verify_ssl_certs=False) as giga:
        assert "heard" in giga.chat("insecure").text
    with GigaChat(**without_ca(emulator), verify_ssl_certs=False) as again:
        again.chat("still insecure")
    warned = [r.getMessage() for r in caplog.records if "NOT verified" in r.getMessage()]
    assert len(warned) == 1 and warned[0].startswith("gigachat-mcp: verify_ssl_certs=false")  # the argument


def test_a_cache_file_that_is_a_directory_degrades_to_memory(emulator: Emulator, token_cache: Path,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    with sync_client(emulator) as giga:
        giga.chat("fill")
    [path] = token_cache.glob("*.json")
    path.unlink()
    path.mkdir()  # unreadable and unwritable as a file, whatever the permissions
    from gigachat_mcp.client import _tokens

    _tokens._sources.clear()
    with sync_client(emulator) as giga:
        assert "heard" in giga.chat("one").text
        assert "heard" in giga.chat("two").text
    assert emulator.oauth_calls == 2  # one for the first process, one here; none per request
    assert "keeping tokens in memory" in caplog.text


def test_a_missing_cache_directory_is_created_private(emulator: Emulator, tmp_path: Path) -> None:
    directory = tmp_path / "deep" / "new" / "tokens"
    with sync_client(emulator, token_cache_dir=str(directory)) as giga:
        giga.chat("hi")
    assert (directory.stat().st_mode & 0o777) == 0o700 and len(list(directory.glob("*.json"))) == 1


def test_an_expired_token_in_the_cache_is_not_used(emulator: Emulator, token_cache: Path) -> None:
    with sync_client(emulator) as giga:
        giga.chat("fill")
    [path] = token_cache.glob("*.json")
    data = json.loads(path.read_text())
    data["expires_at"] = time.time() + 30  # inside the refresh margin
    path.write_text(json.dumps(data))
    from gigachat_mcp.client import _tokens

    _tokens._sources.clear()
    with sync_client(emulator) as giga:
        giga.chat("again")
    assert emulator.oauth_calls == 2
