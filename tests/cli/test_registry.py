"""The MCP Registry entry (server.json at the repository root) for the PyPI package, and the README marker
that proves the package is ours.

The schema below is written from the field rules of the registry's server.json schema 2025-12-11
(`/work/shared/reference/batches-bundles-completions.md` §4.2-4.3, taken from
modelcontextprotocol/registry docs/reference/server-json/draft/server.schema.json at commit 145c2ec, whose
`$schema` example is the 2025-12-11 URL). It is kept here, not fetched: tests run without a network.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import jsonschema

from gigachat_mcp._version import __version__
from gigachat_mcp.client._settings import Settings, env_name

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_URL = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"
INPUT = {
    "type": "object",
    "properties": {
        "description": {"type": "string"},
        "isRequired": {"type": "boolean"},
        "isSecret": {"type": "boolean"},
        "format": {"type": "string", "enum": ["string", "number", "boolean", "filepath"]},
        "value": {"type": "string"},
        "default": {"type": "string"},
        "placeholder": {"type": "string"},
        "choices": {"type": "array", "items": {"type": "string"}},
    },
}
KEY_VALUE_INPUT = {"allOf": [INPUT, {"type": "object", "required": ["name"], "properties": {
    "name": {"type": "string"}, "variables": {"type": "object", "additionalProperties": INPUT}}}]}
ARGUMENT = {"type": "object", "required": ["type"], "properties": {"type": {"enum": ["positional", "named"]}}}
URL = {"type": "string", "pattern": r"^(https?://[^\s]+|\{[a-zA-Z_][a-zA-Z0-9_]*\}[^\s]*)$"}
TRANSPORT = {"anyOf": [
    {"type": "object", "required": ["type"], "properties": {"type": {"enum": ["stdio"]}}},
    {"type": "object", "required": ["type", "url"], "properties": {
        "type": {"enum": ["streamable-http", "sse"]}, "url": URL,
        "headers": {"type": "array", "items": KEY_VALUE_INPUT}}},
]}
PACKAGE = {
    "type": "object",
    "required": ["registryType", "identifier", "transport"],
    "properties": {
        "registryType": {"type": "string"},
        "registryBaseUrl": {"type": "string", "format": "uri"},
        "identifier": {"type": "string"},
        "version": {"type": "string", "minLength": 1, "not": {"const": "latest"}},
        "fileSha256": {"type": "string", "pattern": "^[a-f0-9]{64}$"},
        "runtimeHint": {"type": "string"},
        "transport": TRANSPORT,
        "runtimeArguments": {"type": "array", "items": ARGUMENT},
        "packageArguments": {"type": "array", "items": ARGUMENT},
        "environmentVariables": {"type": "array", "items": KEY_VALUE_INPUT},
    },
}
SERVER_DETAIL = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["name", "description", "version"],
    "properties": {
        "$schema": {"type": "string", "format": "uri"},
        "name": {"type": "string", "pattern": r"^[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+$", "minLength": 3, "maxLength": 200},
        "description": {"type": "string", "minLength": 1, "maxLength": 100},
        "version": {"type": "string", "maxLength": 255},
        "title": {"type": "string", "minLength": 1, "maxLength": 100},
        "websiteUrl": {"type": "string", "format": "uri"},
        "repository": {"type": "object", "required": ["url", "source"],
                       "properties": {"url": {"type": "string", "format": "uri"}, "source": {"type": "string"},
                                      "id": {"type": "string"}, "subfolder": {"type": "string"}}},
        "icons": {"type": "array", "items": {"type": "object", "required": ["src"]}},
        "packages": {"type": "array", "items": PACKAGE},
        "remotes": {"type": "array"},
        "_meta": {"type": "object"},
    },
}
VERSION_RANGE = re.compile(r"^[\^~<>=]|\.[x*]$|\.[x*]\.")


def server_json() -> dict:
    return json.loads((ROOT / "server.json").read_text(encoding="utf-8"))


def test_server_json_fits_the_registry_schema() -> None:
    data = server_json()
    validator = jsonschema.Draft7Validator(SERVER_DETAIL, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    assert not [error.message for error in validator.iter_errors(data)]
    assert data["$schema"] == SCHEMA_URL


def test_the_schema_here_refuses_what_the_registry_refuses() -> None:
    validator = jsonschema.Draft7Validator(SERVER_DETAIL)
    for broken in ({"name": "no-slash"}, {"description": "x" * 101},
                   {"packages": [{"registryType": "pypi", "identifier": "gigachat-mcp", "version": "latest",
                                  "transport": {"type": "stdio"}}]}):
        assert not validator.is_valid({**server_json(), **broken}), broken


def test_the_pypi_package_is_this_version_and_its_key_is_a_secret() -> None:
    data = server_json()
    (package,) = data["packages"]
    assert (package["registryType"], package["registryBaseUrl"], package["identifier"]) == \
        ("pypi", "https://pypi.org", "gigachat-mcp")
    assert data["version"] == package["version"] == __version__ and not VERSION_RANGE.search(__version__)
    assert package["transport"] == {"type": "stdio"}
    key = next(v for v in package["environmentVariables"] if v["name"] == "GIGACHAT_CREDENTIALS")
    assert key["isSecret"] is True and key["isRequired"] is True


def test_every_environment_variable_is_a_real_setting_with_its_real_default() -> None:
    fields = {env_name(f.name): f for f in dataclasses.fields(Settings)}
    for variable in server_json()["packages"][0]["environmentVariables"]:
        assert variable["name"] in fields, variable["name"]
        if "default" in variable:
            kind = variable.get("format", "string")
            default = fields[variable["name"]].default
            assert variable["default"] == (str(default).lower() if kind == "boolean" else str(default)) or (
                kind == "number" and float(variable["default"]) == default), variable
        for choice in variable.get("choices", []):
            Settings.resolve(environ={variable["name"]: choice})  # each choice is accepted as is


def test_the_readme_carries_the_mcp_name_marker_pypi_shows() -> None:
    """The registry checks for `mcp-name: NAME` in the PyPI description, which is the README."""
    import tomllib

    path = "README.md"
    assert tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["readme"] == path
    markers = re.findall(r"mcp-name: (\S+?)(?=\s|-->|<)", (ROOT / path).read_text(encoding="utf-8"))
    assert markers == [server_json()["name"]]
