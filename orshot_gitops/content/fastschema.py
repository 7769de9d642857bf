"""A fast yes for valid instances; jsonschema keeps the last word and every error message.

jsonschema walks a schema with a validator object per keyword per value: about 0.1 ms per
state account and 80 µs per post file. Most files are valid, and for them one question
matters: is it valid? `compile_schema` turns a schema written with the keywords below into
plain nested closures that answer it about twenty times faster. Callers use the answer only
one way: `True` means valid; anything else goes to jsonschema, which decides and explains. So
this module never changes a verdict or a message, provided `True` is only ever said of an
instance jsonschema accepts (tests/test_fastschema.py checks that against jsonschema itself).

Where exactness would cost care (`uniqueItems` over non-strings, `enum` of containers), the
check raises `Unsure` and the caller asks jsonschema. A schema using any keyword not listed
here compiles to None: jsonschema alone, as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any], bool]

# Keywords that never affect validity (draft 2020-12 annotations).
_ANNOTATIONS = frozenset(
    {
        "$schema",
        "$id",
        "$comment",
        "title",
        "description",
        "examples",
        "default",
        "deprecated",
        "readOnly",
        "writeOnly",
        "$defs",
        "definitions",
    }
)
_KNOWN = frozenset(
    {
        "type",
        "enum",
        "const",
        "properties",
        "required",
        "additionalProperties",
        "patternProperties",
        "propertyNames",
        "minProperties",
        "maxProperties",
        "items",
        "minItems",
        "maxItems",
        "uniqueItems",
        "minLength",
        "maxLength",
        "pattern",
        "format",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "$ref",
        "allOf",
        "anyOf",
        "oneOf",
        "not",
        "if",
        "then",
        "else",
    }
)


class Unsure(Exception):
    """The fast check cannot answer exactly for this instance: ask jsonschema."""


class _Unsupported(Exception):
    pass


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_TYPES: dict[str, Check] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": _is_integer,
    "number": _is_number,
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


_SIMPLE: dict[str, type | tuple[type, ...]] = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "null": type(None),
}


def _all(checks: list[Check]) -> Check:
    if not checks:
        return lambda v: True
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda v: first(v) and second(v)
    if len(checks) == 3:
        first, second, third = checks
        return lambda v: first(v) and second(v) and third(v)
    return lambda v: all(check(v) for check in checks)


def _enum(choices: list[Any]) -> Check:
    if all(isinstance(c, str) or c is None for c in choices):
        # Only a str equals a str, only None is None: set membership is exact.
        strings = frozenset(c for c in choices if isinstance(c, str))
        allow_none = None in choices
        return lambda v: (type(v) is str and v in strings) or (v is None and allow_none)
    return lambda v: any(_equal(v, c) for c in choices)


def _equal(a: Any, b: Any) -> bool:
    """JSON equality for scalars (True is not 1; 1 is 1.0); containers are left to jsonschema."""
    if isinstance(a, dict | list) or isinstance(b, dict | list):
        raise Unsure
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if a is None or b is None:
        return a is None and b is None
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if type(a) is not type(b):
        return False
    raise Unsure


def compile_schema(
    schema: Mapping[str, Any], format_conforms: Callable[[Any, str], bool] | None = None
) -> Check | None:
    """A predicate that is True only for instances valid against `schema`, or None when the
    schema uses a keyword this module does not know (or a reference it cannot follow).
    `format_conforms(instance, format)` is the format checker's answer; None means formats
    are annotations (jsonschema's default)."""
    compiler = _Compiler(schema, format_conforms)
    try:
        return compiler.compile(schema)
    except _Unsupported:
        return None


class _Compiler:
    def __init__(
        self, root: Mapping[str, Any], format_conforms: Callable[[Any, str], bool] | None
    ) -> None:
        self.root = root
        self.format_conforms = format_conforms
        self.refs: dict[str, Check] = {}

    def compile(self, schema: Any) -> Check:
        if schema is True:
            return lambda v: True
        if schema is False:
            return lambda v: False
        if not isinstance(schema, Mapping):
            raise _Unsupported
        unknown = set(schema) - _KNOWN - _ANNOTATIONS
        if unknown:
            raise _Unsupported
        checks: list[Check] = []
        if "type" in schema:
            checks.append(self._type(schema["type"]))
        if "enum" in schema:
            checks.append(_enum(list(schema["enum"])))
        if "const" in schema:
            checks.append(_enum([schema["const"]]))
        checks.extend(self._object(schema))
        checks.extend(self._array(schema))
        checks.extend(self._string(schema))
        checks.extend(self._number(schema))
        if "$ref" in schema:
            checks.append(self._ref(schema["$ref"]))
        if "allOf" in schema:
            parts = [self.compile(s) for s in schema["allOf"]]
            checks.append(lambda v: all(p(v) for p in parts))
        if "anyOf" in schema:
            parts = [self.compile(s) for s in schema["anyOf"]]
            checks.append(lambda v: any(p(v) for p in parts))
        if "oneOf" in schema:
            parts = [self.compile(s) for s in schema["oneOf"]]
            checks.append(lambda v: sum(1 for p in parts if p(v)) == 1)
        if "not" in schema:
            negated = self.compile(schema["not"])
            checks.append(lambda v: not negated(v))
        if "if" in schema:
            condition = self.compile(schema["if"])
            then = self.compile(schema.get("then", True))
            otherwise = self.compile(schema.get("else", True))
            checks.append(lambda v: then(v) if condition(v) else otherwise(v))
        return _all(checks)

    def _type(self, names: Any) -> Check:
        if isinstance(names, str):
            names = [names]
        if not names or any(name not in _TYPES for name in names):
            raise _Unsupported
        simple = tuple(_SIMPLE[name] for name in names if name in _SIMPLE)
        if len(simple) == len(names):
            return lambda v: isinstance(v, simple)
        tests = [_TYPES[name] for name in names]
        if len(tests) == 1:
            return tests[0]
        return lambda v: any(test(v) for test in tests)

    def _ref(self, ref: Any) -> Check:
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise _Unsupported
        if ref not in self.refs:
            target: Any = self.root
            for part in ref[2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                if not isinstance(target, Mapping) or part not in target:
                    raise _Unsupported
                target = target[part]
            slot: list[Check] = []
            self.refs[ref] = lambda v: slot[0](v)  # recursion: filled in below
            slot.append(self.compile(target))
        return self.refs[ref]

    def _object(self, schema: Mapping[str, Any]) -> list[Check]:
        keys = {
            "properties",
            "required",
            "additionalProperties",
            "patternProperties",
            "propertyNames",
            "minProperties",
            "maxProperties",
        }
        if not keys & set(schema):
            return []
        properties = {k: self.compile(s) for k, s in schema.get("properties", {}).items()}
        required = list(schema.get("required", ()))
        patterns = [
            (re.compile(p), self.compile(s)) for p, s in schema.get("patternProperties", {}).items()
        ]
        extra_schema = schema.get("additionalProperties", True)
        extra = None if extra_schema is True else self.compile(extra_schema)
        names = self.compile(schema["propertyNames"]) if "propertyNames" in schema else None
        low = schema.get("minProperties", 0)
        high = schema.get("maxProperties")
        if set(schema) & keys == {"properties"}:
            # Only some properties constrained (an `if`, a `then`): look those up.
            listed = list(properties.items())

            def some(value: Any) -> bool:
                if not isinstance(value, dict):
                    return True
                return all(key not in value or sub(value[key]) for key, sub in listed)

            return [some]
        if not patterns and names is None and high is None:

            def plain(value: Any) -> bool:
                if not isinstance(value, dict):
                    return True
                if len(value) < low:
                    return False
                for key in required:
                    if key not in value:
                        return False
                for key, item in value.items():
                    known = properties.get(key)
                    if known is not None:
                        if not known(item):
                            return False
                    elif extra is not None and not extra(item):
                        return False
                return True

            return [plain]

        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return True
            if len(value) < low or (high is not None and len(value) > high):
                return False
            for key in required:
                if key not in value:
                    return False
            for key, item in value.items():
                if names is not None and not names(key):
                    return False
                known = properties.get(key)
                matched = known is not None
                if known is not None and not known(item):
                    return False
                for pattern, sub in patterns:
                    if pattern.search(key):
                        matched = True
                        if not sub(item):
                            return False
                if not matched and extra is not None and not extra(item):
                    return False
            return True

        return [check]

    def _array(self, schema: Mapping[str, Any]) -> list[Check]:
        if not {"items", "minItems", "maxItems", "uniqueItems"} & set(schema):
            return []
        items = self.compile(schema["items"]) if "items" in schema else None
        low = schema.get("minItems", 0)
        high = schema.get("maxItems")
        unique = schema.get("uniqueItems", False)

        def check(value: Any) -> bool:
            if not isinstance(value, list):
                return True
            if len(value) < low or (high is not None and len(value) > high):
                return False
            if unique:
                # Strings and integers: equal only within one type ("2" is not 2).
                if not all(type(v) is str or type(v) is int for v in value):
                    raise Unsure
                if len({(type(v), v) for v in value}) != len(value):
                    return False
            return items is None or all(items(v) for v in value)

        return [check]

    def _string(self, schema: Mapping[str, Any]) -> list[Check]:
        checks: list[Check] = []
        if "minLength" in schema or "maxLength" in schema:
            low = schema.get("minLength", 0)
            high = schema.get("maxLength")
            checks.append(
                lambda v: (
                    not isinstance(v, str) or (len(v) >= low and (high is None or len(v) <= high))
                )
            )
        if "pattern" in schema:
            search = re.compile(schema["pattern"]).search
            checks.append(lambda v: not isinstance(v, str) or search(v) is not None)
        if "format" in schema and self.format_conforms is not None:
            conforms, name = self.format_conforms, schema["format"]
            checks.append(lambda v: conforms(v, name))
        return checks

    def _number(self, schema: Mapping[str, Any]) -> list[Check]:
        checks: list[Check] = []
        comparisons: list[tuple[str, Callable[[Any, Any], bool]]] = [
            ("minimum", lambda v, b: v >= b),
            ("maximum", lambda v, b: v <= b),
            ("exclusiveMinimum", lambda v, b: v > b),
            ("exclusiveMaximum", lambda v, b: v < b),
        ]
        for keyword, holds in comparisons:
            if keyword in schema:
                bound = schema[keyword]
                if not _is_number(bound):
                    raise _Unsupported
                checks.append(_bounded(holds, bound))
        return checks


def _bounded(holds: Callable[[Any, Any], bool], bound: Any) -> Check:
    return lambda v: not _is_number(v) or holds(v, bound)


def conforms(check: Check | None, instance: Any) -> bool:
    """True only when the fast check says the instance is valid (never raises)."""
    if check is None:
        return False
    try:
        return check(instance)
    except (Unsure, RecursionError):
        return False
