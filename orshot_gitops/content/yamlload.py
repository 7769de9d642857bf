"""The one place YAML is read: safe, JSON-shaped, positions kept, surprises refused.

PyYAML's own constructors accept duplicate keys silently, turn timestamps into naive
datetimes and expand alias bombs until memory runs out. So we let the (C, when present)
parser compose the node graph, which carries every position, and build plain values from
it ourselves:

- mapping keys are strings (an account id written as `15:` becomes "15"); a duplicate key is
  an error at the second occurrence;
- timestamps stay the strings the user wrote, so `schedule` is checked by our rules;
- anything but the core YAML tags (`!!python/object`, custom `!tags`) is refused;
- alias expansion is bounded: a "billion laughs" file is an error, not an out-of-memory.

Every value's position is kept by its JSON path, so schema errors point at file:line:column.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from orshot_gitops.errors import UserError

try:  # the C parser composes about 5x faster; positions are the same
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

JsonPath = tuple[str | int, ...]

# A post or config file of a few hundred values is normal; this bound only stops alias bombs.
MAX_NODES = 100_000
# Python refuses to turn an integer of more digits than this into text or back (a ValueError,
# sys.get_int_max_str_digits()); one in a file would crash whatever prints or hashes it later.
MAX_INT_DIGITS = 4300
_TOO_LONG = 10**MAX_INT_DIGITS  # the smallest number of MAX_INT_DIGITS + 1 digits
_INT_BITS = _TOO_LONG.bit_length() - 1  # numbers of fewer bits are shorter for certain

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_TAG}{name}" for name in ("str", "int", "float", "bool", "null", "timestamp")}
_scalars = SafeConstructor()


@dataclass(frozen=True)
class Document:
    """A YAML file's plain value and where each part of it stands in the file (1-based)."""

    path: str
    data: Any
    text: str
    value_positions: Mapping[JsonPath, tuple[int, int]] = field(repr=False)
    key_positions: Mapping[JsonPath, tuple[int, int]] = field(repr=False)
    block_scalars: Mapping[JsonPath, int] = field(repr=False)

    def position(self, json_path: JsonPath, *, key: bool = False) -> tuple[int, int]:
        """The line and column of the value at json_path (or of its key), else of its nearest parent."""
        path = tuple(json_path)
        while True:
            if key and path in self.key_positions:
                return self.key_positions[path]
            if path in self.value_positions:
                return self.value_positions[path]
            if not path:
                return (1, 1)
            path = path[:-1]
            key = False

    def template_line(self, json_path: JsonPath, template_line: int) -> tuple[int, int]:
        """Map a 1-based line inside a string value (a Jinja template) to its file line and column.

        For block scalars (`content: |`) the text starts on the line after the indicator;
        for flow scalars it starts where the value does.
        """
        line, column = self.position(json_path)
        if json_path in self.block_scalars:
            file_line = self.block_scalars[json_path] + template_line
            column = _indent_of(self.text, file_line)
        else:
            file_line = line + template_line - 1
            if template_line > 1:
                column = _indent_of(self.text, file_line)
        return file_line, column


def _indent_of(text: str, line: int) -> int:
    lines = text.splitlines()
    if 1 <= line <= len(lines):
        content = lines[line - 1]
        return len(content) - len(content.lstrip(" ")) + 1
    return 1


def decode(raw: bytes, path: str) -> str:
    """UTF-8 (a BOM is allowed); anything else is an error at the first bad byte."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise UserError(
            f"file is not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
            path=path,
            line=line,
            column=column,
            hint="save the file as UTF-8",
            code="encoding",
        ) from None
    return text


def load_document(text: str, path: str) -> Document:
    """Parse one YAML document into a `Document`; a file that is not a mapping is an error."""
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        if "expected a single document" in problem:
            problem, hint = "more than one YAML document", "keep one post per file, without '---'"
        else:
            hint = "check indentation, quoting and that ':' is followed by a space"
        raise UserError(
            f"YAML syntax error: {problem}",
            path=path,
            line=line,
            column=column,
            hint=hint,
            code="yaml-syntax",
        ) from None
    except yaml.YAMLError as exc:
        raise UserError(
            f"YAML error: {exc}", path=path, line=1, column=1, code="yaml-syntax"
        ) from None
    finally:
        loader.dispose()
    if root is None or (isinstance(root, ScalarNode) and root.tag == f"{_TAG}null"):
        raise UserError(
            "file is empty",
            path=path,
            line=1,
            column=1,
            hint="add the post's keys, at least 'accounts' and 'content', or delete the file",
            code="empty-file",
        )
    if not isinstance(root, MappingNode):
        raise UserError(
            "the top level must be a mapping of keys to values",
            path=path,
            line=root.start_mark.line + 1,
            column=root.start_mark.column + 1,
            hint="write 'key: value' lines such as 'content: ...'",
            code="not-a-mapping",
        )
    builder = _Builder(path)
    data = builder.build(root, ())
    return Document(
        path=path,
        data=data,
        text=text,
        value_positions=builder.value_positions,
        key_positions=builder.key_positions,
        block_scalars=builder.block_scalars,
    )


class _Builder:
    def __init__(self, path: str) -> None:
        self.path = path
        self.nodes_built = 0
        self.value_positions: dict[JsonPath, tuple[int, int]] = {}
        self.key_positions: dict[JsonPath, tuple[int, int]] = {}
        self.block_scalars: dict[JsonPath, int] = {}
        self._open: set[int] = set()

    def _error(self, node: Node, message: str, hint: str, code: str) -> UserError:
        return UserError(
            message,
            path=self.path,
            line=node.start_mark.line + 1,
            column=node.start_mark.column + 1,
            hint=hint,
            code=code,
        )

    def build(self, node: Node, json_path: JsonPath) -> Any:
        self.nodes_built += 1
        if self.nodes_built > MAX_NODES:
            raise self._error(
                node,
                f"the file expands to more than {MAX_NODES:,} values (YAML aliases)",
                "remove the repeated '*alias' references",
                "alias-bomb",
            )
        self.value_positions[json_path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, ScalarNode):
            if node.style in ("|", ">"):
                self.block_scalars[json_path] = node.start_mark.line + 1
            return self._scalar(node)
        if id(node) in self._open:  # an alias to one of its own parents
            raise self._error(
                node, "a YAML alias refers to itself", "remove the loop", "alias-bomb"
            )
        self._open.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                self._check_tag(node, f"{_TAG}seq")
                return [self.build(item, (*json_path, i)) for i, item in enumerate(node.value)]
            assert isinstance(node, MappingNode)
            self._check_tag(node, f"{_TAG}map")
            return self._mapping(node, json_path)
        finally:
            self._open.discard(id(node))

    def _check_tag(self, node: Node, expected: str) -> None:
        if node.tag != expected:
            raise self._error(
                node,
                f"unsupported YAML tag {node.tag!r}",
                "remove the tag: posts hold plain text, numbers, lists and mappings",
                "yaml-tag",
            )

    def _scalar(self, node: ScalarNode) -> Any:
        tag = node.tag
        if tag not in _SCALAR_TAGS:
            self._check_tag(node, f"{_TAG}str")
        if tag == f"{_TAG}int":
            return self._int(node)
        if tag == f"{_TAG}float":
            return _scalars.construct_yaml_float(node)
        if tag == f"{_TAG}bool":
            return _scalars.construct_yaml_bool(node)
        if tag == f"{_TAG}null":
            return None
        return str(node.value)  # str, and timestamps kept as written

    def _int(self, node: ScalarNode) -> int:
        # Hex, octal and base-60 (1:59:59) digits convert without Python's limit, and make
        # numbers whose decimal form is past it: measured by size, before anything prints them.
        try:
            value: int = _scalars.construct_yaml_int(node)
        except ValueError:  # decimal digits past the limit: Python refuses to convert them
            value = _TOO_LONG
        if value.bit_length() > _INT_BITS and abs(value) >= _TOO_LONG:  # cheap test first
            raise self._error(
                node,
                f"a number of more than {MAX_INT_DIGITS:,} digits",
                "write a smaller number, or quote it to keep it as text",
                "number-too-long",
            )
        return value

    def _mapping(self, node: MappingNode, json_path: JsonPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        explicit: set[str] = set()
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == f"{_TAG}merge":  # '<<: *defaults' merges, explicit keys win
                sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                for source in sources:
                    value = self.build(source, json_path)
                    if not isinstance(value, dict):
                        raise self._error(
                            value_node,
                            "'<<' must merge a mapping",
                            "merge a '&anchor' mapping",
                            "yaml-merge",
                        )
                    for k, v in value.items():
                        merged.setdefault(k, v)
                continue
            if not isinstance(key_node, ScalarNode):
                raise self._error(
                    key_node, "a mapping key must be plain text", "use a simple key", "yaml-key"
                )
            key = self._key(key_node)
            if key in explicit:
                raise self._error(
                    key_node,
                    f"duplicate key {key!r}",
                    "a key may appear once per mapping: remove or merge the repeated one",
                    "duplicate-key",
                )
            explicit.add(key)
            child = (*json_path, key)
            self.key_positions[child] = (
                key_node.start_mark.line + 1,
                key_node.start_mark.column + 1,
            )
            result[key] = self.build(value_node, child)
        for k, v in merged.items():
            result.setdefault(k, v)
        return result

    def _key(self, node: ScalarNode) -> str:
        value = self._scalar(node)
        if value is None or isinstance(value, bool):
            return str(node.value)  # 'yes:' is the key "yes", not True; '~:' is "~"
        return str(value)
