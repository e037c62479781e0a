"""Small pure pieces the end-to-end tests pass through without pinning: the token file cache on its own, and the
TLS error mapping for each kind of certificate failure."""

from __future__ import annotations

import logging
import ssl
import stat
from pathlib import Path

import httpx
import pytest

from gigachat_mcp import TLSError
from gigachat_mcp.client._tls import tls_error_from
from gigachat_mcp.client._tokens import FileTokenCache
from gigachat_mcp.client._types import Token

URL = "https://api.giga.example/v1/chat/completions"


def test_the_cache_makes_its_private_directory_and_reads_back_what_it_wrote(tmp_path: Path) -> None:
    directory = tmp_path / "not" / "there" / "yet"
    cache = FileTokenCache(directory, "k" * 40)
    cache.save(Token("tok-1", 1_900_000_000.5))
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(cache.path.stat().st_mode) == 0o600
    assert cache.load() == Token("tok-1", 1_900_000_000.5)
    cache.save(Token("tok-2", float("inf")))  # 'never expires' survives the JSON round trip
    assert cache.load() == Token("tok-2", float("inf"))


def test_an_unwritable_cache_warns_once_and_keeps_working_in_memory(tmp_path: Path,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where a directory should be")
    cache = FileTokenCache(blocked / "tokens", "k" * 40)
    with caplog.at_level(logging.WARNING, logger="gigachat_mcp"):
        cache.save(Token("tok-1", 1_900_000_000.0))
        cache.save(Token("tok-2", 1_900_000_000.0))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "cannot write the token cache" in warnings[0]
    assert warnings[0].endswith("keeping tokens in memory") and "tok-" not in warnings[0]
    assert cache.load() is None


def _wrapped(error: BaseException) -> httpx.ConnectError:
    outer = httpx.ConnectError("handshake failed")
    outer.__cause__ = error
    return outer


def _verify_error(message: str) -> ssl.SSLCertVerificationError:
    error = ssl.SSLCertVerificationError(1, f"[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: {message}")
    error.verify_message = message
    return error


@pytest.mark.parametrize(("cause", "fragment"), [
    (_verify_error("unable to get local issuer certificate"), "from a CA this client does not trust"),
    (_verify_error("Hostname mismatch, certificate is not valid for 'api.giga.example'."),
     "is not issued for that host name"),
    (_verify_error("certificate has expired"), "has expired (or this machine's clock is wrong)"),
    (ssl.SSLError(1, "[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert certificate required"),
     "requires a client certificate: set GIGACHAT_CERT_FILE and GIGACHAT_KEY_FILE"),
    (ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"), "Run `gigachat-mcp doctor`"),
])
def test_each_certificate_failure_gets_its_own_fix(cause: BaseException, fragment: str) -> None:
    error = tls_error_from(_wrapped(cause), URL)
    assert isinstance(error, TLSError)
    assert fragment in str(error) and "api.giga.example" in str(error)
    assert str(error).startswith("TLS verification failed (")


def test_failures_that_are_not_tls_are_left_alone() -> None:
    assert tls_error_from(httpx.ConnectError("[Errno 111] Connection refused"), URL) is None
    assert tls_error_from(_wrapped(ConnectionResetError("reset")), URL) is None


def test_a_tls_failure_found_through_the_context_chain_too() -> None:
    outer = httpx.ConnectError("handshake failed")
    outer.__context__ = _verify_error("unable to get local issuer certificate")  # raised while handling it
    error = tls_error_from(outer, URL)
    assert error is not None and str(error).startswith("TLS verification failed (unable to get local issuer certificate).")


def test_a_rejected_token_is_dropped_but_one_refreshed_meanwhile_is_kept(tmp_path: Path) -> None:
    """Two callers got 401 on the same old token; the first refreshed; the second's report must not throw
    the new token away (that would cost another OAuth call)."""
    from gigachat_mcp.client._tokens import TokenSource

    for cache in (None, FileTokenCache(tmp_path / "tokens", "k" * 40)):
        source = TokenSource(cache)

        def fetch(issued=iter(["old", "new", "newer"])) -> Token:  # noqa: B008 - one sequence per source
            return Token(next(issued), 1_900_000_000.0 + 3600 * 24 * 365 * 10)

        assert source.get(fetch).value == "old"
        source.invalidate("old")  # the first caller's 401
        assert source.current() is None
        assert source.get(fetch).value == "new"
        source.invalidate("old")  # the second caller's 401, about the token already replaced
        assert source.get(fetch).value == "new"
        source.invalidate("unknown")
        assert source.current() is not None and source.current().value == "new"


def test_public_values_are_frozen_and_zero_by_default() -> None:
    import dataclasses

    from gigachat_mcp import ChatChunk, ChatResult, Model, TokenCount, Usage

    assert (Usage().prompt_tokens, Usage().completion_tokens, Usage().total_tokens,
            Usage().precached_prompt_tokens) == (0, 0, 0, 0)
    values = [Usage(), ChatResult("t", "m", "stop", Usage()), ChatChunk("t"), Model("GigaChat-2"), TokenCount(1, 2)]
    for value in values:
        field = dataclasses.fields(value)[0].name
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(value, field, 1)
    assert (Model("x").owned_by, Model("x").type) == ("", "chat")


def test_a_client_certificate_with_its_key_in_the_same_file_is_loaded(tmp_path: Path) -> None:
    """GIGACHAT_CERT_FILE alone may hold both the certificate and its key (no GIGACHAT_KEY_FILE)."""
    from gigachat_mcp.client._settings import Settings
    from gigachat_mcp.client._tls import ssl_context_for
    from gigachat_mcp.emulator._certs import make_certificates

    certs = make_certificates(tmp_path / "certs", client_certificate=True)  # the client key is made only for mTLS
    combined = tmp_path / "client-with-key.pem"
    combined.write_bytes(certs.client_cert.read_bytes() + certs.client_key.read_bytes())
    context = ssl_context_for(Settings.resolve(environ={}, cert_file=str(combined), ca_bundle_file=str(certs.ca_file)))
    assert isinstance(context, ssl.SSLContext)
    with pytest.raises(Exception, match="Could not load the client certificate"):
        ssl_context_for(Settings.resolve(environ={}, cert_file=str(certs.client_cert)))  # no key anywhere


def test_the_trust_report_doctor_prints(tmp_path: Path) -> None:
    import warnings

    from gigachat_mcp.client._settings import Settings
    from gigachat_mcp.client._tls import trust_report
    from gigachat_mcp.emulator._certs import make_certificates

    ca = str(make_certificates(tmp_path / "certs").ca_file)
    report = trust_report(Settings.resolve(environ={}, ca_bundle_file=ca))
    assert report.verify and report.russian_root_loaded and report.roots >= 3  # system + certifi + ours + yours
    assert report.sources[2] == "bundled Russian Trusted Root CA"
    assert report.sources[-1] == f"GIGACHAT_CA_BUNDLE_FILE ({ca})"
    assert trust_report(Settings.resolve(environ={})).sources[-1] == "bundled Russian Trusted Root CA"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        off = trust_report(Settings.resolve(environ={}, verify_ssl_certs=False))
    assert (off.verify, off.roots, off.russian_root_loaded) == (False, 0, False)
    assert off.sources == ("verification disabled by GIGACHAT_VERIFY_SSL_CERTS=false",)
