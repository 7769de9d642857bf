"""The JSON Schemas (the truth about our file formats) and schema errors as diagnostics.

The schemas live in `schemas/` at the repository root and ship inside the wheel as
`orshot_gitops/schemas/`. One compiled validator per schema per process.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orshot_gitops.content.fastschema import Check, compile_schema, conforms
from orshot_gitops.content.model import OLD_PLATFORM_SPELLINGS
from orshot_gitops.content.suggest import did_you_mean
from orshot_gitops.content.yamlload import Document
from orshot_gitops.errors import Diagnostic, Severity

if TYPE_CHECKING:
    from jsonschema import ValidationError
    from jsonschema.protocols import Validator

_PACKAGE_DIR = Path(__file__).resolve().parent.parent
MEDIA_KEYS = ("media_url", "media_urls", "render")


def schema_path(name: str) -> Path:
    """`name` like "post.schema.json": the wheel's copy, else the checkout's schemas/."""
    for candidate in (_PACKAGE_DIR / "schemas" / name, _PACKAGE_DIR.parent / "schemas" / name):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"schema {name} is missing from the installation")


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(schema_path(name).read_text(encoding="utf-8"))
    return result


@functools.cache
def validator(name: str) -> Validator:
    from jsonschema import Draft202012Validator, FormatChecker

    return Draft202012Validator(load_schema(name), format_checker=FormatChecker())


@functools.cache
def fast_check(name: str) -> Check | None:
    """A compiled yes-check of the schema: a valid file (the usual case) skips jsonschema."""
    return compile_schema(load_schema(name), format_conforms)


# The packages jsonschema checks the "uri" format with (jsonschema/_format.py): without one of
# them it takes any string. Asked whether they are installed (not imported), so a `plan`
# whose posts are valid imports no jsonschema (60 ms); tests/test_plan_cost.py keeps this list
# honest against jsonschema's own FormatChecker.
URI_CHECKERS = ("rfc3987", "rfc3986_validator")


def format_conforms(instance: Any, format_name: str) -> bool:
    """What jsonschema's FormatChecker answers, importing it only when it might say no."""
    if format_name == "uri" and not _uri_checked():
        return True
    return bool(_format_checker().conforms(instance, format_name))


@functools.cache
def _uri_checked() -> bool:
    import importlib.util

    return any(importlib.util.find_spec(module) is not None for module in URI_CHECKERS)


@functools.cache
def _format_checker() -> Any:
    from jsonschema import FormatChecker

    return FormatChecker()


def schema_diagnostics(document: Document, schema_name: str) -> list[Diagnostic]:
    """Every schema violation in the document, each at the line of the offending key or value."""
    if conforms(fast_check(schema_name), document.data):
        return []
    errors = validator(schema_name).iter_errors(document.data)
    found = [_diagnostic(document, error) for error in errors]
    return sorted(set(found))


def _diagnostic(document: Document, error: ValidationError) -> Diagnostic:
    path, key_position, message, hint = explain(error)
    line, column = document.position(path, key=key_position)
    return Diagnostic(
        path=document.path,
        line=line,
        column=column,
        severity=Severity.ERROR,
        code="schema",
        message=message,
        hint=hint,
    )


def explain(error: ValidationError) -> tuple[tuple[str | int, ...], bool, str, str]:
    """A schema violation in our words: where it is (the path, and whether the key rather than
    its value is at fault), what is wrong, and a hint. The state file's check says it the same
    way as a post's."""
    path = tuple(error.absolute_path)
    schema: dict[str, Any] = dict(error.schema) if isinstance(error.schema, dict) else {}
    where = ".".join(str(p) for p in path) or "the file"
    key_position = False
    hint = ""
    # Every branch below says it in its own words; this is only what the last one replaces.
    message = f"{where} does not have the shape this file needs here"
    if error.validator == "additionalProperties":
        extra = _extra_keys(error, schema)
        if extra:
            path = (*path, extra[0])
            key_position = True
            allowed = sorted(schema.get("properties", {}))
            message = f"unknown key {extra[0]!r}" + (f" in {where}" if where != "the file" else "")
            hint = (
                did_you_mean(extra[0], allowed) + f"allowed keys: {', '.join(allowed)}"
                if allowed
                else "remove it"
            )
    elif error.validator == "required":
        missing = str(error.message).split("'")[1] if "'" in error.message else "a key"
        message = f"missing required key {missing!r}" + (f" in {where}" if path else "")
        hint = _describe(schema.get("properties", {}).get(missing, {}))
    elif error.validator == "not" and not path:
        present = [
            k for k in MEDIA_KEYS if isinstance(error.instance, dict) and k in error.instance
        ]
        path, key_position = (present[-1],), True
        message = f"{' and '.join(present)} cannot be combined"
        hint = "keep one of media_url (one image), media_urls (a carousel) and render"
    elif error.validator == "type":
        expected = error.validator_value
        names = expected if isinstance(expected, list) else [expected]
        expected_text = " or ".join(_TYPE_NAMES.get(str(n), str(n)) for n in names)
        message = f"{where} must be {_article(expected_text)}, not {_json_type(error.instance)}"
        hint = _describe(schema)
    elif error.validator == "enum":
        choices = error.validator_value if isinstance(error.validator_value, list) else []
        # An old spelling is still read (with a warning) but never offered as a choice.
        choices = [c for c in choices if c not in OLD_PLATFORM_SPELLINGS]
        message = f"{where}: {error.instance!r} is not one of {', '.join(map(str, choices))}"
        hint = did_you_mean(str(error.instance), map(str, choices)).rstrip()
    elif error.validator == "propertyNames" or (
        error.validator == "pattern" and "propertyNames" in error.schema_path
    ):
        # A key the pattern refuses (an alias of digits only would read as an account id).
        message = f"{where}: {error.instance!r} is not a valid name here"
        hint = "use letters, digits, '-', '_' and '.', starting with a letter or digit, not digits only"
    elif error.validator in ("pattern", "format") and isinstance(error.instance, str):
        message = f"{where}: {error.instance!r} is not a valid {_what(error)}"
        hint = _describe(schema)
    elif error.validator in ("minItems", "minLength", "minProperties"):
        message = f"{where} must not be empty"
        hint = _describe(schema) or "give it a value, or remove the key"
    elif error.validator == "uniqueItems":
        items = error.instance if isinstance(error.instance, list) else []
        repeated = next((v for i, v in enumerate(items) if v in items[:i]), None)
        message = f"{where} lists {repeated!r} more than once"
        hint = "remove the repeated entry"
    elif error.validator == "minimum":
        message = f"{where} must be at least {error.validator_value}, not {error.instance!r}"
        hint = _describe(schema)
    elif error.validator == "anyOf" and path and path[0] == "accounts":
        message = f"{where}: {error.instance!r} is not an account alias or id"
        hint = "use an alias from orshot.yaml (letters, digits, '-', '_', '.') or a numeric id"
    elif error.validator == "anyOf" and (branch := _branch_error(error)) is not None:
        return explain(branch)  # e.g. a media item: a URL, or {url, alt}
    else:
        # No keyword above: jsonschema's own words would name schemas the writer never sees.
        hint = _describe(schema) or "see docs/posts.md for what this key takes"
    return path, key_position, message, hint


_TYPE_NAMES = {
    "array": "list",
    "object": "mapping",
    "integer": "whole number",
    "null": "empty value",
}


def _branch_error(error: ValidationError) -> ValidationError | None:
    """Of the alternatives of an anyOf, the error of the one whose type the value has: a
    string that is no URL is told about URLs, not about "any of the given schemas"."""
    fitting = [e for e in error.context or () if not (e.validator == "type" and not e.path)]
    return fitting[0] if fitting else None


def _extra_keys(error: ValidationError, schema: dict[str, Any]) -> list[str]:
    instance = error.instance if isinstance(error.instance, dict) else {}
    known = set(schema.get("properties", {}))
    return sorted(k for k in instance if k not in known)


def _describe(schema: Any) -> str:
    if not isinstance(schema, dict):
        return ""
    examples = schema.get("examples")
    if examples:
        return f"for example: {json.dumps(examples[0], ensure_ascii=False)}"
    return ""


def _what(error: ValidationError) -> str:
    if error.validator == "format":
        return str(error.validator_value)
    return "URL" if "http" in str(error.validator_value) else "value"


def _article(text: str) -> str:
    return ("an " if text[:1] in "aeiou" else "a ") + text


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "a mapping"
