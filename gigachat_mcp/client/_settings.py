"""Settings: keyword arguments > GIGACHAT_* environment > defaults, validated once, in one place.

The environment names are the official `gigachat` SDK's, so users can switch without relearning.
This is the only module that reads the environment.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ._errors import ConfigError
from ._proxy import check_proxy, proxy_password, redact_proxy

__all__ = ["DEFAULT_AUTH_URL", "DEFAULT_BASE_URL", "SCOPES", "Settings"]

DEFAULT_BASE_URL = "https://api.giga.chat/v1"
DEFAULT_AUTH_URL = "https://ngw.devices.sberbank.ru:9443/api/v2/oauth"
SCOPES = ("GIGACHAT_API_PERS", "GIGACHAT_API_B2B", "GIGACHAT_API_CORP")
SECRET_FIELDS = ("credentials", "access_token", "password", "key_file_password")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything that shapes a client. Build it with `Settings.resolve(**overrides)`."""

    # (field, environment variable, default, meaning) is documented in README's configuration table.
    credentials: str | None = None
    scope: str = "GIGACHAT_API_PERS"
    base_url: str = DEFAULT_BASE_URL
    auth_url: str = DEFAULT_AUTH_URL
    access_token: str | None = None
    user: str | None = None
    password: str | None = None
    model: str = "GigaChat-2"
    timeout: float = 30.0
    verify_ssl_certs: bool = True
    ca_bundle_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    key_file_password: str | None = None
    max_retries: int = 2
    retry_backoff_factor: float = 0.5
    max_connections: int | None = None
    profanity_check: bool | None = None
    api_version: str = "v1"
    token_cache: str = "file"
    token_cache_dir: str | None = None
    log_level: str = "WARNING"
    # The front ends (MCP chat, %%gigachat, ask) let GigaChat draw when asked in plain words; false turns it off.
    image_generation: bool = True
    mcp_file_roots: str | None = None  # directories the MCP server may read attachments from (os.pathsep-separated)
    proxy: str | None = None  # an HTTP CONNECT proxy for OAuth and the API, instead of HTTPS_PROXY
    no_proxy: str | None = None  # hosts reached without it (the standard NO_PROXY variable)

    @classmethod
    def resolve(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Merge overrides over the environment over defaults, then validate."""
        env = os.environ if environ is None else environ
        unknown = set(overrides) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ConfigError(f"Unknown setting(s): {', '.join(sorted(unknown))}. See the README's configuration table.")
        values: dict[str, Any] = {}
        origins: dict[str, tuple[str, Any]] = {}
        for field in dataclasses.fields(cls):
            if overrides.get(field.name) is not None:
                origins[field.name] = (field.name, overrides[field.name])
            else:
                for name in _ENVIRONMENT.get(field.name, (env_name(field.name),)):
                    raw = env.get(name, "").strip()
                    if raw and not _unfilled_placeholder(raw):
                        origins[field.name] = (name, raw)
                        break
            if field.name in origins:
                values[field.name] = _coerce(field.name, origins[field.name][1], source=origins[field.name][0])
        return cls(**values)._validated(origins)

    def named(self, field: str) -> str:
        """Where a value came from, for messages: the argument's name, else the environment variable's."""
        return self._origins().get(field, (env_name(field), None))[0]

    def pinned(self, field: str) -> bool:
        """Whether the user set `field` (an argument or its GIGACHAT_* variable) rather than left the default:
        an unpinned contract (api_version) gives way to the one a request needs."""
        return field in self._origins()

    def _origins(self) -> dict[str, tuple[str, Any]]:
        return getattr(self, "_origin_map", {})

    @property
    def auth_method(self) -> str:
        """Which way a token is obtained: oauth, password, token, mtls or none."""
        if self.access_token:
            return "token"
        if self.credentials:
            return "oauth"
        if self.user and self.password:
            return "password"
        if self.cert_file:
            return "mtls"
        return "none"

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in a log, an error or a repr: the key material and a proxy password."""
        return tuple(v for v in (*self.key_material, *proxy_password(self.proxy)) if v and len(v) >= 4)

    @property
    def key_material(self) -> tuple[str, ...]:
        """What identifies the GigaChat key (credentials, user/password, token): what replicas sharing one key
        derive their shared token's cache key and encryption from. A proxy's password is not part of it."""
        values = [getattr(self, name) for name in SECRET_FIELDS]
        if self.credentials:
            values.append(_decoded_secret(self.credentials))
        return tuple(v for v in values if v and len(v) >= 4)

    def replace(self, **changes: Any) -> Settings:
        origins = {**self._origins(), **{name: (name, value) for name, value in changes.items()}}
        return dataclasses.replace(self, **changes)._validated(origins)

    def __repr__(self) -> str:
        shown = []
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name in SECRET_FIELDS and value:
                value = "***"
            elif field.name == "proxy" and value:
                value = redact_proxy(value)
            elif value == field.default:
                continue
            shown.append(f"{field.name}={value!r}")
        return f"Settings({', '.join(shown)})"

    def _validated(self, origins: dict[str, tuple[str, Any]] | None = None) -> Settings:
        origins = origins or {}

        def named(field: str) -> str:
            return origins.get(field, (env_name(field), None))[0]

        def given(field: str) -> str:
            """What the user wrote (GIGACHAT_TIMEOUT=-5 is echoed as -5, not -5.0)."""
            raw = origins.get(field, (None, getattr(self, field)))[1]
            return raw.strip() if isinstance(raw, str) else str(raw)

        changes: dict[str, Any] = {}
        scope = self.scope.upper()
        if not scope.startswith("GIGACHAT_API_"):
            scope = f"GIGACHAT_API_{scope}"
        if scope not in SCOPES:
            raise ConfigError(
                f"{named('scope')}={_shown(self.scope)} is not a GigaChat scope. Use PERS (individuals), "
                "B2B (prepaid business) or CORP (pay-as-you-go business)."
            )
        changes["scope"] = scope
        if self.credentials:
            changes["credentials"] = _normalise_credentials(self.credentials)
        for name in ("base_url", "auth_url"):
            url = getattr(self, name).rstrip("/")
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ConfigError(f"{named(name)}={_shown(url)} is not an http(s) URL, e.g. {_default(name)}.")
            changes[name] = url
        if self.timeout <= 0:
            raise ConfigError(f"{named('timeout')} must be a positive number of seconds, not {given('timeout')}.")
        if self.max_retries < 0:
            raise ConfigError(f"{named('max_retries')} must be 0 or more, not {given('max_retries')}.")
        if self.max_connections is not None and self.max_connections < 1:
            raise ConfigError(f"{named('max_connections')} must be 1 or more, not {given('max_connections')}.")
        if self.api_version not in ("v1", "v2"):
            raise ConfigError(f"{named('api_version')} must be v1 or v2, not {_shown(self.api_version)}.")
        if self.token_cache not in ("file", "memory"):
            raise ConfigError(f"{named('token_cache')} must be 'file' or 'memory', not {_shown(self.token_cache)}.")
        if self.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ConfigError(f"{named('log_level')} must be DEBUG, INFO, WARNING or ERROR, not {_shown(self.log_level)}.")
        changes["log_level"] = self.log_level.upper()
        if bool(self.user) != bool(self.password) and not (self.credentials or self.access_token):
            missing = named("password") if self.user else named("user")
            raise ConfigError(f"{named('user')} and {named('password')} go together: set {missing} as well.")
        if self.proxy:
            problem = check_proxy(self.proxy.strip(), named("proxy"))
            if problem:
                raise ConfigError(problem)
            changes["proxy"] = self.proxy.strip()
        if self.key_file and not self.cert_file:
            raise ConfigError(f"{named('key_file')} needs {named('cert_file')} (the client certificate) as well.")
        for name in ("ca_bundle_file", "cert_file", "key_file"):
            path = getattr(self, name)
            if path and not os.path.isfile(os.path.expanduser(path)):
                raise ConfigError(f"{named(name)} points at {path!r}, which is not a readable file.")
        validated = dataclasses.replace(self, **changes)
        object.__setattr__(validated, "_origin_map", origins)  # not a field: equality and repr ignore it
        return validated


def _unfilled_placeholder(raw: str) -> bool:
    """An MCP Bundle host passes an optional setting the user left empty as the literal text
    `${user_config.name}` (it substitutes only what it has): that means unset, not a value."""
    return raw.startswith("${user_config.") and raw.endswith("}")


_ENVIRONMENT = {"no_proxy": ("NO_PROXY", "no_proxy")}  # settings read from standard variables, not GIGACHAT_*


def env_name(field: str) -> str:
    return _ENVIRONMENT.get(field, (f"GIGACHAT_{field.upper()}",))[0]


def _default(field: str) -> Any:
    return next(f.default for f in dataclasses.fields(Settings) if f.name == field)


def _coerce(name: str, value: Any, *, source: str) -> Any:
    kind = {f.name: f.type for f in dataclasses.fields(Settings)}[name]
    try:
        if "bool" in kind:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE | _FALSE:
                return text in _TRUE
            raise ValueError
        if "float" in kind:
            return float(value)
        if "int" in kind:
            if isinstance(value, float) or (isinstance(value, str) and not value.strip().lstrip("-").isdigit()):
                raise ValueError
            return int(value)
        return str(value)
    except (TypeError, ValueError):
        expected = {"bool": "true or false", "float": "a number", "int": "a whole number"}
        wanted = next((v for k, v in expected.items() if k in kind), "text")
        raise ConfigError(f"{source} must be {wanted}, not {_describe(name, value)}.") from None


def _describe(name: str, value: Any) -> str:
    return "the value given" if name in SECRET_FIELDS else _shown(value)


def _shown(value: Any) -> str:
    """repr(value), unless it looks like a key pasted into the wrong variable: that is never echoed."""
    text = str(value)
    if len(text) >= 24 and re.fullmatch(r"[A-Za-z0-9+/=_-]+", text):
        return "a value that looks like a key (not shown)"
    return repr(value)


def _normalise_credentials(value: str) -> str:
    """Accept the Studio key as shown, with a stray 'Basic ' prefix, or as raw client_id:client_secret."""
    key = value.strip()
    if key.lower().startswith("basic "):
        key = key[6:].strip()
    if ":" in key:  # base64 never contains ':', so this is client_id:client_secret
        key = base64.b64encode(key.encode()).decode()
    return key


def _decoded_secret(key: str) -> str:
    try:
        return base64.b64decode(key, validate=True).decode().partition(":")[2]
    except (ValueError, UnicodeDecodeError):
        return ""
