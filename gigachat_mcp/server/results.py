"""What the tools return: the structured result models, and a chat turn as a CallToolResult (text, drawn images,
web sources as links)."""

from __future__ import annotations

import base64
from typing import Any, Literal

from mcp.types import CallToolResult, ImageContent, ResourceLink, TextContent
from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from .. import GigaChatError
from .conversations import Conversation
from .turns import TurnRunner

__all__ = ["Balance", "ChatAnswer", "ConversationOut", "Embeddings", "FileOut", "MessageOut", "ModelInfo", "ModelList",
           "SourceOut", "TokenCountOut", "UsageOut", "answer_result", "with_images", "with_sources"]

JSON_TYPES: JsonDict = {"type": ["object", "array", "string", "number", "integer", "boolean", "null"]}  # any JSON value, said


class UsageOut(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    precached_prompt_tokens: int = 0


class FileOut(BaseModel):
    id: str
    mime_type: str
    resource_uri: str = Field(description="gigachat://files/{id}: the file's bytes as a blob resource.")


class SourceOut(BaseModel):
    title: str
    url: str


class ChatAnswer(BaseModel):
    """The `chat` tool's structured result."""

    text: str = Field(description="The answer (empty while a background answer is still streaming).")
    conversation_id: str = Field(description="Pass it back as conversation_id to continue this conversation.")
    model: str | None = Field(description="The model that answered, with its version.")
    finish_reason: str | None = Field(description="stop, length (hit max_tokens), blacklist, … or null.")
    usage: UsageOut | None = Field(description="Tokens spent on this turn.")
    resource_uri: str = Field(description="Live transcript of the conversation, answer in flight included.")
    status: str = Field(description="done, or streaming for background answers.")
    files: list[FileOut] = Field(default_factory=list, description="Files GigaChat made in this turn (drawn images).")
    reasoning: str | None = Field(default=None, description="GigaChat's thinking, with reasoning_effort; not the "
                                                            "answer.")
    sources: list[SourceOut] = Field(default_factory=list, description="Web pages a web_search answer drew on.")
    json_: Any = Field(default=None, alias="json", serialization_alias="json", json_schema_extra=JSON_TYPES,
                       description="With json_schema: the answer parsed as JSON and checked against the schema.")


class MessageOut(BaseModel):
    """One message of a transcript (the answer in flight is the last one, marked in_flight)."""

    model_config = ConfigDict(extra="allow")
    role: Literal["system", "user", "assistant"]
    content: str
    attachments: list[str] | None = Field(default=None, description="File ids or paths sent with this prompt.")
    files: list[FileOut] | None = Field(default=None, description="Files this answer made (drawn images).")
    reasoning: str | None = Field(default=None, description="The model's thinking, with reasoning_effort.")
    sources: list[SourceOut] | None = Field(default=None, description="Web pages a web_search answer drew on.")
    json_: Any = Field(default=None, alias="json", json_schema_extra=JSON_TYPES,
                       description="With json_schema: the answer parsed as JSON.")
    cancelled: bool | None = Field(default=None, description="Stopped; later turns do not send this exchange.")
    in_flight: bool | None = Field(default=None, description="The answer being written now.")


class ConversationOut(BaseModel):
    """`get_conversation`'s structured result: the transcript and the state of its last turn."""

    conversation_id: str
    uri: str = Field(description="gigachat://conversations/{id}: the same transcript as a resource.")
    status: Literal["idle", "queued", "streaming", "done", "error", "cancelled"]
    model: str | None = Field(description="The model of the last turn.")
    messages: list[MessageOut] = Field(description="Oldest first; the system prompt first when there is one.")
    finish_reason: str | None = Field(description="stop, length (hit max_tokens), blacklist, … or null.")
    usage: UsageOut | None = Field(description="Tokens spent on the last turn.")
    error: str | None = Field(description="What went wrong, when status is error or cancelled.")
    updated_at: float = Field(description="Last change, in seconds since the epoch.")


class ModelInfo(BaseModel):
    id: str
    type: str


class ModelList(BaseModel):
    models: list[ModelInfo]
    default: str


class Embeddings(BaseModel):
    model: str
    vectors: list[list[float]]


class Balance(BaseModel):
    balance: dict[str, float] = Field(description="Tokens left per model or service.")


class TokenCountOut(BaseModel):
    tokens: list[int]
    characters: list[int]


async def with_images(result: CallToolResult, runner: TurnRunner) -> CallToolResult:
    """Each drawn file as image content after the text; a file that cannot be fetched is named instead."""
    for item in (result.structured_content or {}).get("files", ()):
        try:
            data = await runner.client.download_file(item["id"])
        except GigaChatError as exc:
            result.content.append(TextContent(type="text", text=f"(Could not fetch {item['resource_uri']}: {exc})"))
            continue
        result.content.append(ImageContent(type="image", data=base64.b64encode(data).decode(),
                                           mime_type=item["mime_type"]))
    return result


def with_sources(result: CallToolResult) -> CallToolResult:
    """Each web source as a resource link after the answer, so hosts can show them."""
    for source in (result.structured_content or {}).get("sources", ()):
        result.content.append(ResourceLink(type="resource_link", uri=source["url"], name=source["title"],
                                           mime_type="text/html"))
    return result


def answer_result(conversation: Conversation, uri: str,
                  status: Literal["done", "streaming", "cancelled"]) -> CallToolResult:
    finished = status != "streaming"
    text = conversation.answer() if finished else ""
    last = conversation.messages[-1] if finished and conversation.messages else {}
    files = last.get("files", [])
    answer = ChatAnswer(
        text=text,
        conversation_id=conversation.id,
        model=conversation.model,
        finish_reason=conversation.finish_reason,
        usage=UsageOut(**conversation.usage) if conversation.usage else None,
        resource_uri=uri,
        status=status,
        files=[FileOut(**f) for f in files],
        reasoning=last.get("reasoning"),
        sources=[SourceOut(**source) for source in last.get("sources", ())],
        json=last.get("json"),
    )
    if status == "done":
        shown = text
    elif status == "cancelled":  # the live view's Stop button, or a shutdown past its grace (the error says so)
        why = conversation.error or ("The user stopped this answer here." if text else "The user stopped this answer.")
        shown = f"{text}\n\n[{why}]" if text else f"[{why}]"
    else:
        shown = (f"GigaChat is answering in the background. Read {uri} or call get_conversation with "
                 f"conversation_id={conversation.id!r} and wait_seconds to get the answer.")
    return CallToolResult(content=[TextContent(type="text", text=shown)],
                          structured_content=answer.model_dump(mode="json", by_alias=True))
