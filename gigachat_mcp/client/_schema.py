"""A small JSON Schema checker for structured answers, so the core needs no validation library.

It covers what answer schemas use: type, properties, required, additionalProperties: false, items, enum,
const, anyOf/oneOf/allOf, $ref into $defs/definitions, min/max length, items and numeric bounds. Anything it
does not know it accepts (the service was given the schema; this is a check, not a second validator).
"""

from __future__ import annotations

from typing import Any

__all__ = ["problems", "resolve_ref"]

_TYPES: dict[str, Any] = {
    "object": dict, "array": list, "string": str, "boolean": bool, "null": type(None),
    "integer": int, "number": (int, float),
}


def problems(value: Any, schema: Any, *, limit: int = 10) -> list[str]:
    """Where `value` breaks `schema`, as 'path: what is wrong' lines (empty when it fits)."""
    found: list[str] = []
    _check(value, schema, schema, "$", found, 0)
    return found[:limit]


def _check(value: Any, schema: Any, root: Any, path: str, found: list[str], depth: int) -> None:
    if not isinstance(schema, dict) or depth > 50:
        return
    if "$ref" in schema:
        _check(value, resolve_ref(root, schema["$ref"]), root, path, found, depth + 1)
    if "const" in schema and value != schema["const"]:
        found.append(f"{path}: must be {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{path}: must be one of {schema['enum']!r}, not {value!r}")
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list) and not any(
                not problems_at(value, option, root, path, depth) for option in schema[key]):
            found.append(f"{path}: fits none of the {key} alternatives")
    for option in schema.get("allOf") or ():
        _check(value, option, root, path, found, depth + 1)
    kind = schema.get("type")
    if kind is not None:
        kinds = kind if isinstance(kind, list) else [kind]
        if not any(_is(value, k) for k in kinds):
            found.append(f"{path}: must be {' or '.join(map(str, kinds))}, not {_json_type(value)}")
            return
    if isinstance(value, dict):
        _check_object(value, schema, root, path, found, depth)
    elif isinstance(value, list):
        _check_array(value, schema, root, path, found, depth)
    elif isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            found.append(f"{path}: shorter than {schema['minLength']} characters")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            found.append(f"{path}: longer than {schema['maxLength']} characters")
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            found.append(f"{path}: below the minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            found.append(f"{path}: above the maximum {schema['maximum']}")


def problems_at(value: Any, schema: Any, root: Any, path: str, depth: int) -> list[str]:
    found: list[str] = []
    _check(value, schema, root, path, found, depth + 1)
    return found


def _check_object(value: dict[str, Any], schema: dict[str, Any], root: Any, path: str, found: list[str],
                  depth: int) -> None:
    properties = schema.get("properties") or {}
    for name in schema.get("required") or ():
        if name not in value:
            found.append(f"{path}: the required field {name!r} is missing")
    for name, item in value.items():
        if name in properties:
            _check(item, properties[name], root, f"{path}.{name}", found, depth + 1)
        elif schema.get("additionalProperties") is False:
            found.append(f"{path}: unexpected field {name!r}")
        elif isinstance(schema.get("additionalProperties"), dict):
            _check(item, schema["additionalProperties"], root, f"{path}.{name}", found, depth + 1)


def _check_array(value: list[Any], schema: dict[str, Any], root: Any, path: str, found: list[str],
                 depth: int) -> None:
    if len(value) < schema.get("minItems", 0):
        found.append(f"{path}: fewer than {schema['minItems']} items")
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        found.append(f"{path}: more than {schema['maxItems']} items")
    if isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            _check(item, schema["items"], root, f"{path}[{index}]", found, depth + 1)


def _is(value: Any, kind: str) -> bool:
    expected = _TYPES.get(kind)
    if expected is None:
        return True
    if isinstance(value, bool) and kind in ("integer", "number"):
        return False
    if kind == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, expected)


def _json_type(value: Any) -> str:
    for name in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _is(value, name):
            return name
    return type(value).__name__


def resolve_ref(root: Any, ref: str) -> Any:
    """The node a local JSON Pointer `$ref` (`#/...`, with ~0 ~1 escapes) names in `root`; {} when none."""
    if not ref.startswith("#"):
        return {}
    node = root
    for part in ref.removeprefix("#").strip("/").split("/"):
        if not part:
            continue
        node = node.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(node, dict) else {}
    return node
