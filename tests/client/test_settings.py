"""Settings: arguments > GIGACHAT_* environment > defaults, validated with errors that name the variable."""

from __future__ import annotations

import base64
import pickle

import pytest

from gigachat_mcp import APIError, ConfigError, GigaChat, Settings, StreamError


def test_defaults_match_the_documented_table() -> None:
    s = Settings.resolve(environ={})
    assert s.base_url == "https://api.giga.chat/v1"
    assert s.auth_url == "https://ngw.devices.sberbank.ru:9443/api/v2/oauth"
    assert (s.scope, s.model, s.timeout, s.max_retries, s.api_version, s.token_cache) == (
        "GIGACHAT_API_PERS", "GigaChat-2", 30.0, 2, "v1", "file")
    assert s.verify_ssl_certs is True and s.auth_method == "none"


def test_arguments_beat_environment_beat_defaults() -> None:
    env = {"GIGACHAT_MODEL": "GigaChat-2-Pro", "GIGACHAT_TIMEOUT": "12.5", "GIGACHAT_SCOPE": "corp",
           "GIGACHAT_VERIFY_SSL_CERTS": "False", "GIGACHAT_MAX_RETRIES": "5", "GIGACHAT_API_VERSION": "v2"}
    s = Settings.resolve(environ=env, model="GigaChat-2-Max")
    assert s.model == "GigaChat-2-Max"  # argument wins
    assert s.timeout == 12.5 and s.max_retries == 5 and s.api_version == "v2"  # environment beats defaults
    assert s.scope == "GIGACHAT_API_CORP" and s.verify_ssl_certs is False


@pytest.mark.parametrize(("env", "fragment"), [
    ({"GIGACHAT_TIMEOUT": "soon"}, "GIGACHAT_TIMEOUT must be a number, not 'soon'"),
    ({"GIGACHAT_TIMEOUT": "0"}, "GIGACHAT_TIMEOUT must be a positive number"),
    ({"GIGACHAT_MAX_RETRIES": "1.5"}, "GIGACHAT_MAX_RETRIES must be a whole number"),
    ({"GIGACHAT_VERIFY_SSL_CERTS": "maybe"}, "GIGACHAT_VERIFY_SSL_CERTS must be true or false"),
    ({"GIGACHAT_SCOPE": "GIGACHAT_API_FREE"}, "Use PERS (individuals)"),
    ({"GIGACHAT_BASE_URL": "api.giga.chat/v1"}, "GIGACHAT_BASE_URL='api.giga.chat/v1' is not an http(s) URL"),
    ({"GIGACHAT_API_VERSION": "v3"}, "GIGACHAT_API_VERSION must be v1 or v2"),
    ({"GIGACHAT_TOKEN_CACHE": "redis"}, "GIGACHAT_TOKEN_CACHE must be 'file' or 'memory'"),
    ({"GIGACHAT_CA_BUNDLE_FILE": "/nonexistent/ca.pem"}, "GIGACHAT_CA_BUNDLE_FILE points at '/nonexistent/ca.pem'"),
    ({"GIGACHAT_USER": "me"}, "set GIGACHAT_PASSWORD as well"),
    ({"GIGACHAT_KEY_FILE_PASSWORD": "x", "GIGACHAT_MAX_CONNECTIONS": "0"}, "GIGACHAT_MAX_CONNECTIONS must be 1 or more"),
])
def test_bad_values_are_config_errors_naming_the_variable(env: dict, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.resolve(environ=env)
    assert fragment in str(caught.value)


def test_unknown_keyword_is_rejected() -> None:
    with pytest.raises(ConfigError, match="Unknown setting"):
        GigaChat(api_key="x")


def test_secret_values_never_appear_in_errors_or_reprs() -> None:
    key = base64.b64encode(b"client-id-0123:client-secret-4567").decode()
    for misplaced in ({"GIGACHAT_SCOPE": key}, {"GIGACHAT_TIMEOUT": key}, {"GIGACHAT_BASE_URL": key}):
        with pytest.raises(ConfigError) as caught:  # a key pasted into the wrong variable
            Settings.resolve(environ=misplaced)
        assert key not in str(caught.value) and "looks like a key" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        Settings.resolve(environ={}, user="u", password="pw", key_file_password=["not", "text"], max_retries="x")
    assert "max_retries must be a whole number, not 'x'" in str(caught.value)
    assert "'not'" not in str(caught.value) and "pw" not in str(caught.value)
    s = Settings.resolve(environ={}, credentials="abc:topsecret", password="pw-secret", user="u",
                         access_token="tok-secret", key_file_password="kp-secret")
    text = repr(s) + repr(GigaChat(settings=s))
    for secret in ("topsecret", "pw-secret", "tok-secret", "kp-secret", s.credentials):
        assert secret not in text
    assert "topsecret" in s.secrets  # the decoded client secret is known, so logs can redact it


@pytest.mark.parametrize("given", ["Basic {key}", "  {key}  ", "{raw}"])
def test_credentials_are_accepted_as_shown_with_prefix_or_raw(given: str) -> None:
    key = base64.b64encode(b"client:secret").decode()
    s = Settings.resolve(environ={}, credentials=given.format(key=key, raw="client:secret"))
    assert s.credentials == key


def test_replace_revalidates() -> None:
    s = Settings.resolve(environ={})
    assert s.replace(scope="b2b").scope == "GIGACHAT_API_B2B"
    with pytest.raises(ConfigError, match="must be a positive number of seconds, not -1"):
        s.replace(timeout=-1)


def test_errors_survive_pickling_with_their_fields() -> None:
    error = pickle.loads(pickle.dumps(StreamError("broke", partial_text="half", status_code=500)))
    assert (str(error), error.partial_text, error.status_code) == ("broke", "half", 500)
    api = pickle.loads(pickle.dumps(APIError("m", status_code=404, server_message="No such model")))
    assert (api.status_code, api.message) == (404, "No such model")


@pytest.mark.parametrize(("arguments", "fragment"), [
    ({"scope": "x"}, "scope='x' is not a GigaChat scope"),
    ({"base_url": "api.giga.chat/v1"}, "base_url='api.giga.chat/v1' is not an http(s) URL"),
    ({"ca_bundle_file": "/nonexistent/ca.pem"}, "ca_bundle_file points at '/nonexistent/ca.pem'"),
    ({"timeout": -5}, "timeout must be a positive number of seconds, not -5."),
    ({"max_retries": -1}, "max_retries must be 0 or more, not -1."),
    ({"api_version": "v3"}, "api_version must be v1 or v2"),
])
def test_errors_name_the_argument_when_the_value_came_from_one(arguments: dict, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        GigaChat(**arguments)
    assert str(caught.value).startswith(fragment)
    assert "GIGACHAT_" not in str(caught.value).split(".")[0]  # the variable was never set, so it is not named


@pytest.mark.parametrize(("env", "fragment"), [
    ({"GIGACHAT_TIMEOUT": "-5"}, "GIGACHAT_TIMEOUT must be a positive number of seconds, not -5."),
    ({"GIGACHAT_TIMEOUT": "0"}, "not 0."),
    ({"GIGACHAT_MAX_CONNECTIONS": "00"}, "GIGACHAT_MAX_CONNECTIONS must be 1 or more, not 00."),
])
def test_errors_echo_the_value_as_it_was_given(env: dict, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.resolve(environ=env)
    assert fragment in str(caught.value)


def test_a_ca_file_argument_that_is_not_pem_is_named_as_the_argument(tmp_path) -> None:
    der = tmp_path / "ca.cer"
    der.write_bytes(b"\x30\x82\x01\x0a not pem")
    with GigaChat(base_url="https://127.0.0.1:9/v1", credentials="id:secret", ca_bundle_file=str(der),
                  max_retries=0) as giga:
        with pytest.raises(ConfigError) as caught:
            giga.chat("hi")
    assert str(caught.value).startswith(f"ca_bundle_file={str(der)!r} holds no PEM certificate")


@pytest.mark.parametrize(("settings", "method"), [
    ({"access_token": "tok-123456", "credentials": "abc:def"}, "token"),  # a ready token is used first
    ({"credentials": "abc:def"}, "oauth"),
    ({"user": "me", "password": "pw-123456"}, "password"),
    ({"cert_file": __file__, "key_file": __file__}, "mtls"),
    ({}, "none"),
])
def test_the_way_a_token_is_obtained_shows_in_the_repr(settings: dict, method: str) -> None:
    resolved = Settings.resolve(environ={}, **settings)
    assert resolved.auth_method == method
    assert f"auth={method!r}" in repr(GigaChat(settings=resolved))


def test_settings_are_frozen_once_resolved() -> None:
    import dataclasses

    settings = Settings.resolve(environ={})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.timeout = 1.0  # type: ignore[misc]


def test_secrets_are_the_set_values_long_enough_to_redact() -> None:
    key = base64.b64encode(b"client-id:client-secret-1").decode()
    assert set(Settings.resolve(environ={}, credentials=key).secrets) == {key, "client-secret-1"}
    assert Settings.resolve(environ={}, user="me", password="pw").secrets == ()  # "pw" would redact every "pw"
    assert Settings.resolve(environ={}).secrets == ()


@pytest.mark.parametrize("url", ["ftp://gigachat.example/v1", "https://", "gigachat.example/v1"])
def test_base_url_must_be_http_with_a_host(url: str) -> None:
    with pytest.raises(ConfigError, match="is not an http\\(s\\) URL"):
        Settings.resolve(environ={}, base_url=url)


@pytest.mark.parametrize("value", [2.5, "2.5", "two"])
def test_whole_numbers_are_not_rounded(value: object) -> None:
    with pytest.raises(ConfigError, match="max_retries must be a whole number"):
        Settings.resolve(environ={}, max_retries=value)


def test_pool_size_defaults_to_100_and_follows_the_setting() -> None:
    from gigachat_mcp.client._http import client_options

    assert client_options(Settings.resolve(environ={}))["limits"].max_connections == 100
    assert client_options(Settings.resolve(environ={}, max_connections=3))["limits"].max_connections == 3


def test_zero_retries_is_allowed_and_four_characters_are_a_secret() -> None:
    assert Settings.resolve(environ={}, max_retries=0).max_retries == 0
    assert Settings.resolve(environ={}, user="me", password="pw12").secrets == ("pw12",)
