"""One ssl.SSLContext for GigaChat: system roots + certifi + the bundled Russian Trusted Root CA + a user CA file.

Trust is additive: nothing replaces the defaults, so corporate proxies and the real service both work.
GIGACHAT_VERIFY_SSL_CERTS=false is the explicit escape hatch: one log line per process (a clean line on stderr
when the application has not configured logging), not a Python warning with a source path.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import ssl
import sys
from dataclasses import dataclass
from importlib import resources

from ._errors import ConfigError, TLSError
from ._settings import Settings

__all__ = ["RUSSIAN_ROOT_SHA256", "TrustReport", "ssl_context_for", "tls_error_from", "trust_report"]

log = logging.getLogger("gigachat_mcp")

RUSSIAN_ROOT_SHA256 = "d26d2d0231b7c39f92cc738512ba54103519e4405d68b5bd703e9788ca8ecf31"
_RUSSIAN_ROOT_FILE = "russian_trusted_root_ca.pem"
_warned_insecure = False


def ssl_context_for(settings: Settings) -> ssl.SSLContext:
    """The context for these settings; built once per distinct TLS configuration, then shared."""
    if not settings.verify_ssl_certs:
        _warn_insecure_once(settings.named("verify_ssl_certs"))
    return _build_context(
        settings.verify_ssl_certs,
        settings.ca_bundle_file,
        settings.cert_file,
        settings.key_file,
        settings.key_file_password,
        (settings.named("ca_bundle_file"), settings.named("cert_file"), settings.named("key_file")),
    )


@functools.lru_cache(maxsize=8)
def _build_context(
    verify: bool, ca_file: str | None, cert_file: str | None, key_file: str | None, key_password: str | None,
    names: tuple[str, str, str] = ("GIGACHAT_CA_BUNDLE_FILE", "GIGACHAT_CERT_FILE", "GIGACHAT_KEY_FILE"),
) -> ssl.SSLContext:
    """`names` say where each path came from (an argument or a variable), for the error messages."""
    if verify:
        context = ssl.create_default_context()  # the system's roots
        import certifi  # deferred: only a process that really connects pays for parsing the bundle

        context.load_verify_locations(cafile=certifi.where())
        context.load_verify_locations(cadata=bundled_root_pem())
        if ca_file:
            _load_user_ca(context, ca_file, names[0])
    else:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if cert_file:
        try:
            context.load_cert_chain(os.path.expanduser(cert_file), key_file and os.path.expanduser(key_file), key_password)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"Could not load the client certificate {names[1]}={cert_file!r}"
                f"{f' with {names[2]}={key_file!r}' if key_file else ''}: {_reason(exc)}. "
                "Check that both are PEM files and that GIGACHAT_KEY_FILE_PASSWORD is right."
            ) from None
    return context


def _load_user_ca(context: ssl.SSLContext, ca_file: str, name: str) -> None:
    path = os.path.expanduser(ca_file)
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise ConfigError(f"{name}={ca_file!r} cannot be read: {exc.strerror}.") from None
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise ConfigError(
            f"{name}={ca_file!r} holds no PEM certificate. Point it at a file of "
            "'-----BEGIN CERTIFICATE-----' blocks (convert DER with: openssl x509 -inform der -in ca.cer -out ca.pem)."
        )
    try:
        context.load_verify_locations(cafile=path)
    except ssl.SSLError as exc:
        raise ConfigError(f"{name}={ca_file!r} could not be loaded: {_reason(exc)}.") from None


@functools.cache
def bundled_root_pem() -> str:
    return resources.files(__package__).joinpath(_RUSSIAN_ROOT_FILE).read_text(encoding="ascii")


def _warn_insecure_once(name: str) -> None:
    global _warned_insecure
    if not _warned_insecure:
        _warned_insecure = True
        message = (f"gigachat-mcp: {name}=false: TLS certificates are NOT verified, so anyone on the network path "
                   "can read your prompts and tokens. The Russian Trusted Root CA is bundled; prefer "
                   "GIGACHAT_CA_BUNDLE_FILE for any other CA.")
        if _logging_configured(log):
            log.warning(message)
        else:  # the package's NullHandler would swallow it: a security warning must be seen
            print(message, file=sys.stderr, flush=True)


def _logging_configured(logger: logging.Logger) -> bool:
    current: logging.Logger | None = logger
    while current is not None:
        if any(not isinstance(handler, logging.NullHandler) for handler in current.handlers):
            return True
        current = current.parent if current.propagate else None
    return False


@dataclass(frozen=True)
class TrustReport:
    """What the context trusts, for `gigachat-mcp doctor`."""

    verify: bool
    roots: int
    russian_root_loaded: bool
    sources: tuple[str, ...]


def trust_report(settings: Settings) -> TrustReport:
    context = ssl_context_for(settings)
    if not settings.verify_ssl_certs:
        return TrustReport(False, 0, False, ("verification disabled by GIGACHAT_VERIFY_SSL_CERTS=false",))
    import certifi

    roots = context.get_ca_certs(binary_form=True)
    russian = any(hashlib.sha256(der).hexdigest() == RUSSIAN_ROOT_SHA256 for der in roots)
    sources = ["system trust store", f"certifi ({certifi.where()})", "bundled Russian Trusted Root CA"]
    if settings.ca_bundle_file:
        sources.append(f"GIGACHAT_CA_BUNDLE_FILE ({settings.ca_bundle_file})")
    return TrustReport(True, len(roots), russian, tuple(sources))


def tls_error_from(exc: BaseException, url: str) -> TLSError | None:
    """A TLSError with the fix, if `exc` (or what caused it) is a certificate failure; else None."""
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, ssl.SSLError):
        cause = cause.__cause__ or cause.__context__
    text = str(cause if cause is not None else exc)
    if cause is None and "CERTIFICATE_VERIFY_FAILED" not in text and "SSL" not in text:
        return None
    reason = getattr(cause, "verify_message", None) or _reason(cause or exc)
    host = url.split("/")[2] if "//" in url else url
    if "mismatch" in text or "mismatch" in str(reason):
        hint = (
            f"The certificate of {host} is not issued for that host name. Check GIGACHAT_BASE_URL and "
            "GIGACHAT_AUTH_URL: use the host names the service publishes, not an IP address or an alias."
        )
    elif "expired" in text:
        hint = (
            f"The certificate of {host} has expired (or this machine's clock is wrong). Check the system time; "
            "if it is right, the server must renew its certificate."
        )
    elif "CERTIFICATE_VERIFY_FAILED" in text:
        hint = (
            f"{host} presented a certificate from a CA this client does not trust. The Russian Trusted Root CA is "
            "already bundled; if you are behind a TLS-inspecting proxy or use your own server, set "
            "GIGACHAT_CA_BUNDLE_FILE=/path/to/ca.pem (GIGACHAT_VERIFY_SSL_CERTS=false only as a last resort, for testing)."
        )
    elif "CERTIFICATE_REQUIRED" in text or "certificate required" in text:
        hint = f"{host} requires a client certificate: set GIGACHAT_CERT_FILE and GIGACHAT_KEY_FILE."
    elif isinstance(cause, ssl.SSLError):
        hint = f"The TLS handshake with {host} failed. Run `gigachat-mcp doctor` to see which step breaks."
    else:
        return None
    return TLSError(f"TLS verification failed ({reason}). {hint}")


def _reason(exc: BaseException) -> str:
    return getattr(exc, "reason", None) or getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
