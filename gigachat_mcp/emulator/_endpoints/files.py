"""The file endpoints: multipart upload (checked against the service's rules), listing, reading, downloading
and deleting; each key sees only its own files, and someone else's file is as unknown as a missing one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import _rules
from .._files import StoredFile, parse_multipart, purpose_of
from .._http import API_V1, Call, Route, send_error

if TYPE_CHECKING:
    from .._api import API

__all__ = ["ROUTES"]

_ID = "/files/(?P<id>[^/]+)"


def upload(api: API, call: Call) -> None:
    fields = parse_multipart(call.conn.headers.get("Content-Type", ""), call.body)
    if fields is None:
        return send_error(call.conn, 400, "Expected a multipart/form-data body")
    filename, data = fields.get("file", (None, b""))
    if filename is None:
        return send_error(call.conn, 400, "Invalid params: a multipart field 'file' with a filename is required")
    purpose = purpose_of(fields)
    problem = _rules.upload_problem(filename, len(data), purpose)
    if problem is not None:
        return send_error(call.conn, *problem)
    call.conn.send_json(200, api.files.add(call.owner, filename, data, purpose).info())


def listing(api: API, call: Call) -> None:
    call.conn.send_json(200, {"data": [f.info() for f in api.files.owned_by(call.owner)]})


def _owned(api: API, call: Call) -> StoredFile | None:
    stored = api.files.get(call.owner, call.params["id"])
    if stored is None:
        send_error(call.conn, 404, "File not found")
    return stored


def info(api: API, call: Call) -> None:
    stored = _owned(api, call)
    if stored is not None:
        call.conn.send_json(200, stored.info())


def delete(api: API, call: Call) -> None:
    if _owned(api, call) is not None:
        api.files.delete(call.owner, call.params["id"])
        call.conn.send_json(200, {"id": call.params["id"], "deleted": True})


def content(api: API, call: Call) -> None:
    stored = _owned(api, call)
    if stored is not None:
        call.conn.send_bytes(200, stored.data, stored.mime)


ROUTES = (
    Route("POST", API_V1, "/files", "upload", upload, binary=True),
    Route("GET", API_V1, "/files", "files", listing),
    Route("GET", API_V1, _ID, "file", info),
    Route("POST", API_V1, _ID + "/delete", "file_delete", delete),
    Route("GET", API_V1, _ID + "/content", "file_content", content),
)
