"""Who may use a team server: static bearer tokens from a file, or JWTs from an OAuth issuer.

Both are the SDK's `TokenVerifier`; the SDK's bearer middleware answers 401 with `WWW-Authenticate` and (for
OAuth) serves the RFC 9728 protected-resource metadata. A verifier says only whether a token is genuine; whether it
carries the required scopes is the middleware's question, so a good token without them gets RFC 6750's
403 `insufficient_scope` (naming the scope), not 401 `invalid_token`. The principal (the static token's name, or the JWT's
issuer and subject) is what conversations and limits belong to.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from pathlib import Path
from typing import Any

from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from pydantic import AnyHttpUrl, ConfigDict, TypeAdapter

__all__ = ["AuthFileError", "JwtVerifier", "StaticTokenVerifier", "load_token_file", "oauth_auth", "static_auth"]

log = logging.getLogger("gigachat_mcp.server")
_LINE = re.compile(r"^\s*([^\s:#][^:#]*?)\s*:\s*([0-9a-fA-F]{64})\s*$")


class AuthFileError(ValueError):
    """The --auth-tokens file cannot be used; the message names the line."""


def load_token_file(path: str | Path) -> dict[str, bytes]:
    """`principal: sha256hex` per line (# comments, blank lines); never the token itself."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise AuthFileError(f"Cannot read --auth-tokens file {path}: {exc.strerror}.") from None
    entries: dict[str, bytes] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            raise AuthFileError(f"{path}:{number}: expected 'principal: <sha256 of the token, 64 hex digits>'. "
                                "Make one with: printf %s \"$TOKEN\" | sha256sum")
        entries[match.group(1)] = bytes.fromhex(match.group(2))
    if not entries:
        raise AuthFileError(f"--auth-tokens file {path} names no principal.")
    return entries


class StaticTokenVerifier:
    """Bearer tokens whose SHA-256 is listed; every entry is compared, in constant time."""

    def __init__(self, entries: dict[str, bytes]) -> None:
        self.entries = entries

    async def verify_token(self, token: str) -> AccessToken | None:
        digest = hashlib.sha256(token.encode()).digest()
        found = None
        for principal, expected in self.entries.items():
            if hmac.compare_digest(digest, expected):
                found = principal
        if found is None:
            return None
        return AccessToken(token="", client_id=found, scopes=[], subject=found)


class JwtVerifier:
    """JWTs signed by the issuer's keys (JWKS from its metadata, cached), for this server's URL as audience."""

    def __init__(self, issuer: str, audience: str, *, verify_tls: Any = True) -> None:
        import jwt

        self.issuer = issuer  # compared with `iss` exactly, as RFC 8414 and OpenID Connect say (Auth0 ends in "/")
        self.audience = audience
        self._jwt = jwt
        self._jwks: Any = None
        self._verify_tls = verify_tls

    def _client(self) -> Any:
        if self._jwks is None:
            self._jwks = self._jwt.PyJWKClient(self._jwks_uri(), cache_keys=True, lifespan=300, timeout=10)
        return self._jwks

    def _jwks_uri(self) -> str:
        """From the issuer's RFC 8414 / OpenID metadata; `<issuer>/.well-known/jwks.json` if it has none."""
        import httpx

        base = self.issuer.rstrip("/")
        for suffix in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
            try:
                response = httpx.get(base + suffix, timeout=10, verify=self._verify_tls)
                if response.status_code == 200 and response.json().get("jwks_uri"):
                    return str(response.json()["jwks_uri"])
            except (httpx.HTTPError, ValueError):
                continue
        return base + "/.well-known/jwks.json"

    async def verify_token(self, token: str) -> AccessToken | None:
        import anyio

        return await anyio.to_thread.run_sync(self._verify, token)

    def _verify(self, token: str) -> AccessToken | None:
        jwt = self._jwt
        try:
            key = self._client().get_signing_key_from_jwt(token)
            claims = jwt.decode(token, key.key, algorithms=["RS256", "ES256", "PS256", "EdDSA"],
                                audience=self.audience, issuer=self.issuer,
                                options={"require": ["exp", "iss", "aud", "sub"]}, leeway=30)
        except (jwt.PyJWTError, OSError) as exc:
            log.info("bearer token refused: %s", type(exc).__name__)
            return None
        scopes = str(claims.get("scope", "")).split()  # the SDK's middleware checks the required ones (403)
        return AccessToken(token="", client_id=str(claims.get("client_id") or claims.get("azp") or claims["sub"]),
                           scopes=scopes, expires_at=int(claims["exp"]), resource=self.audience,
                           subject=str(claims["sub"]), claims={"iss": claims["iss"], "sub": claims["sub"]})


def static_auth(path: str | Path, public_url: str | None) -> tuple[StaticTokenVerifier, AuthSettings]:
    verifier = StaticTokenVerifier(load_token_file(path))
    # No resource_server_url: advertising OAuth discovery makes some hosts ignore a configured static header.
    return verifier, AuthSettings(issuer_url=AnyHttpUrl(public_url or "http://localhost"), resource_server_url=None)


def oauth_auth(issuer: str, public_url: str, scopes: list[str]) -> tuple[JwtVerifier, AuthSettings]:
    """The JWT verifier and the SDK's settings: `scopes` are required of every token (403 without them), and the
    RFC 9728 document lists the issuer as configured, the string its tokens carry in `iss` (a plain AnyHttpUrl
    would add a "/" to a bare host)."""
    verifier = JwtVerifier(issuer, public_url)
    return verifier, AuthSettings(issuer_url=_as_written(issuer), resource_server_url=_as_written(public_url),
                                  required_scopes=scopes or None, validate_token_resource=True)


def _as_written(url: str) -> AnyHttpUrl:
    """The URL checked as AnyHttpUrl, its empty path kept empty."""
    return TypeAdapter(AnyHttpUrl, config=ConfigDict(url_preserve_empty_path=True)).validate_python(url)
