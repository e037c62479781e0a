"""The MCP Bundle manifest (`manifest.json`, v0.4) for Claude Desktop's one-click install.

The schema is strict (an unknown key anywhere fails `mcpb validate`), so only its keys appear here. The server
type is `uv`: the host installs the dependencies the bundle's pyproject.toml names and runs `mcp_config`. The key
reaches the server as GIGACHAT_CREDENTIALS; scope and model have defaults, and a host that substitutes no
default passes the literal `${user_config.x}`, which Settings reads as unset.

The tools and prompts are listed from the real server, built in-process, so the manifest cannot drift from it.
"""

from __future__ import annotations

from typing import Any

from .._version import __version__

MANIFEST_SCHEMA = "https://raw.githubusercontent.com/modelcontextprotocol/mcpb/main/schemas/mcpb-manifest-v0.4.schema.json"
ENTRY_POINT = "server/main.py"
ICON = "icon.png"
PRIVACY_POLICY = "https://developers.sber.ru/docs/ru/policies/privacy-policy"  # Sber's, who process the prompts
DESCRIPTION = "GigaChat (Sber) for Claude: chat with streaming, pictures, embeddings and prompts"
LONG_DESCRIPTION = (
    "Ask Sber's GigaChat from Claude: answers stream as they are written, GigaChat draws when asked, reads "
    "attached images and documents, counts tokens and makes embeddings. Prompts: a second opinion in Russian, "
    "translation, a code review in Russian. Your authorization key (GigaChat Studio -> project -> API keys) is "
    "stored by the host and passed to the server only. Prompts and attachments are sent to GigaChat."
)
USER_CONFIG: dict[str, dict[str, Any]] = {
    "credentials": {"type": "string", "title": "GigaChat authorization key",
                    "description": "From GigaChat Studio -> your project -> API keys (base64 of "
                                   "client_id:client_secret).",
                    "sensitive": True, "required": True},
    "scope": {"type": "string", "title": "Scope",
              "description": "GIGACHAT_API_PERS (individuals), GIGACHAT_API_B2B (prepaid business) or "
                             "GIGACHAT_API_CORP (pay-as-you-go business).",
              "default": "GIGACHAT_API_PERS", "required": False},
    "model": {"type": "string", "title": "Default model",
              "description": "The model answers come from unless a call names one, e.g. GigaChat-2-Max.",
              "default": "GigaChat-2", "required": False},
}
ENV = {"GIGACHAT_CREDENTIALS": "${user_config.credentials}", "GIGACHAT_SCOPE": "${user_config.scope}",
       "GIGACHAT_MODEL": "${user_config.model}"}


def manifest(tools: list[dict[str, str]], prompts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "$schema": MANIFEST_SCHEMA,
        "manifest_version": "0.4",
        "name": "gigachat-mcp",
        "display_name": "GigaChat",
        "version": __version__,
        "description": DESCRIPTION,
        "long_description": LONG_DESCRIPTION,
        "author": {"name": "gigachat-mcp developers"},
        "homepage": "https://pypi.org/project/gigachat-mcp/",
        "icon": ICON,
        "server": {
            "type": "uv",
            "entry_point": ENTRY_POINT,
            "mcp_config": {"command": "uv", "args": ["run", "--directory", "${__dirname}", ENTRY_POINT],
                           "env": dict(ENV)},
        },
        "tools": tools,
        "tools_generated": False,
        "prompts": prompts,
        "prompts_generated": False,
        "keywords": ["gigachat", "sber", "llm", "russian", "images", "embeddings"],
        "license": "MIT",
        "privacy_policies": [PRIVACY_POLICY],
        "compatibility": {"platforms": ["darwin", "win32", "linux"], "runtimes": {"python": ">=3.10"}},
        "user_config": USER_CONFIG,
    }


async def server_catalogue() -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    """(tools, prompts) as the manifest lists them, read from the server over an in-memory MCP connection.
    A prompt's `text` is the server's own, with `${arguments.name}` where each required argument goes."""
    from mcp import Client

    from ..server import build_server

    async with Client(build_server(None)) as client:
        tools = [{"name": tool.name, "description": _one_line(tool.description)}
                 for tool in (await client.list_tools()).tools]
        prompts: list[dict[str, Any]] = []
        for prompt in (await client.list_prompts()).prompts:
            arguments = [argument.name for argument in prompt.arguments or []]
            required = {a.name: f"${{arguments.{a.name}}}" for a in prompt.arguments or [] if a.required}
            result = await client.get_prompt(prompt.name, required)
            text = "\n\n".join(m.content.text for m in result.messages if m.content.type == "text")
            prompts.append({"name": prompt.name, "description": _one_line(prompt.description),
                            "arguments": arguments, "text": text})
    return tools, prompts


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())
