"""Captions that differ only in their literal text share one compile.

In a cold run (no cache directory yet: a fresh CI runner) compiling every distinct caption
was most of `validate`'s time: Jinja's parse, code generation and Python's `compile()`,
~0.35 ms each. Yet most captions of a repository have one of a few shapes: the same tags
(`{{ product }}`, `{% include "signature.j2" %}`, `{% if platform == ... %}`) around
different words. Jinja turns literal text into string constants of the generated code and
nothing else, so a caption's code is the code of its shape with its own words put back in
the constants.

A caption's shape is its source with the words of each stretch of literal text replaced by a
marker (NUL, a random number drawn once per process, the words' index, as many newlines as
the words hold, NUL: so every line number in the generated code stays the same; equal words
get one marker, as Python's compiler gives equal constants one slot). Whitespace at either end of a stretch is kept, since `{%-`
and `-%}` strip it. The shape is compiled once; each caption's code is that code with its
words in place of the markers (`co_consts`, nested code objects included).

Only a caption whose tags this module splits exactly as Jinja's lexer does gets a shape:
tags without braces outside their string literals, no `{% raw %}` (its body is text that
looks like tags), no `{% autoescape %}` (it escapes the text while compiling), no carriage
return (the lexer rewrites it) and no NUL. Anything else, and any shape whose code does not
hold each marker exactly once, is compiled on its own as before. `tests/test_shapes.py`
compares what the code does both ways (instruction by instruction, constants and lines).
The random number keeps a template from computing a marker while it compiles (a format
filter folded to a constant) and getting words put where the caption has none; NULs in the
constants that are not markers send the caption to its own compile as well.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from types import CodeType

# Jinja's lexer ends a `{{` or `{%` tag at the first closing delimiter outside a string
# literal (and, with a brace open, not even there: braces are refused). Its string
# literals are these two forms, with backslash escapes.
_STRING = r"""'[^'\\]*(?:\\.[^'\\]*)*'|"[^"\\]*(?:\\.[^"\\]*)*\""""
_TAG = re.compile(
    rf"\{{\{{(?:[^'\"{{}}]|{_STRING})*\}}\}}"
    rf"|\{{%(?:[^'\"{{}}%]|%(?!\}})|{_STRING})*%\}}"
    r"|\{#.*?#\}",
    re.S,
)
_START = re.compile(r"\{[{%#]")  # where Jinja's lexer ends a stretch of text
_REFUSED = re.compile(r"[\r\x00]|\{%[-+]?\s*(?:raw|autoescape)\b")
# Shapes kept per process: a repository has a few dozen; this bounds a pathological one.
MAX_SHAPES = 2048


def shape_of(source: str, nonce: str = "") -> tuple[str, tuple[str, ...]] | None:
    """The caption's shape and the words taken out of it (each distinct words once), or None
    when it has no shape we trust. `nonce` goes into every marker."""
    if _REFUSED.search(source):
        return None
    parts: list[str] = []
    words: dict[str, int] = {}
    position, end_of_source = 0, len(source)
    while True:
        start = _START.search(source, position)
        end = start.start() if start is not None else end_of_source
        if end > position:
            text = source[position:end]
            first = len(text) - len(text.lstrip())
            last = len(text.rstrip())
            if first < last:
                middle = text[first:last]
                index = words.setdefault(middle, len(words))
                newlines = "\n" * middle.count("\n")
                parts += [text[:first], f"\x00{nonce}{index}{newlines}\x00", text[last:]]
            else:
                parts.append(text)  # only whitespace: kept as it is, part of the shape
        if start is None:
            return "".join(parts), tuple(words)  # in the order of their indexes
        tag = _TAG.match(source, end)
        if tag is None:
            return None
        parts.append(tag.group())
        position = tag.end()


class Shapes:
    """The compiled code of each shape seen, and each caption's code made from it."""

    def __init__(self, compile_source: Callable[[str], CodeType]) -> None:
        self._compile = compile_source
        self._codes: dict[str, CodeType | None] = {}
        self._nonce = secrets.token_hex(8)
        self._marker = re.compile(f"\x00{self._nonce}(\\d+)\n*\x00")

    def code(self, source: str) -> CodeType | None:
        """`source`'s code, made from its shape's; None: compile it on its own."""
        found = shape_of(source, self._nonce)
        if found is None or not found[1]:
            return None  # no shape, or no words: nothing to share
        shape, words = found
        if shape in self._codes:
            code = self._codes[shape]
        else:
            try:
                code = self._compile(shape)
            except Exception:  # any failure: the caption's own compile reports it
                code = None
            if len(self._codes) >= MAX_SHAPES:
                self._codes.clear()
            self._codes[shape] = code
        if code is None:
            return None
        used = [0] * len(words)
        try:
            filled = _fill(code, self._marker, words, used)
        except _NotAMarker:
            return None
        # Every words found: none was dropped or moved where this check cannot see it.
        return filled if all(used) else None


class _NotAMarker(Exception):
    """A NUL in the shape's code that is not one of its markers (a constant the template
    computes while compiling, such as a format filter): words could go to the wrong place."""


def _fill(
    code: CodeType, marker: re.Pattern[str], words: tuple[str, ...], used: list[int]
) -> CodeType:
    """code with the markers in its string constants replaced by their words; `used` counts
    the markers found per words. A NUL that is not in a marker raises _NotAMarker."""

    def put_back(match: re.Match[str]) -> str:
        index = int(match.group(1))
        if index >= len(words):
            raise _NotAMarker
        used[index] += 1
        return words[index]

    constants = []
    for constant in code.co_consts:
        if isinstance(constant, str) and "\x00" in constant:
            constant, found = marker.subn(put_back, constant)
            if "\x00" in constant or not found:
                raise _NotAMarker
        elif isinstance(constant, CodeType):
            constant = _fill(constant, marker, words, used)
        constants.append(constant)
    return code.replace(co_consts=tuple(constants))


__all__ = ["MAX_SHAPES", "Shapes", "shape_of"]
