"""Sandboxed, bounded Jinja rendering of captions, options and render modifications.

Templates come from anyone who can open a pull request, and `plan` renders them in CI.
So: Jinja's sandbox (no attribute tricks into Python internals), StrictUndefined (a typo is an
error, not an empty caption), includes only of regular files in the repo's templates directory
(no link out of it, nothing in .git, only what git tracks in plan and apply), no environment,
and hard bounds on work and output so a hostile or careless template fails fast instead of
hanging the run or eating memory.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import marshal
import operator
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment
from jinja2.visitor import NodeTransformer

from orshot_gitops.content import shapes
from orshot_gitops.content.cache import DiskCache, key_of
from orshot_gitops.content.utm import UtmError, utm_filter

MAX_OUTPUT_CHARS = 200_000  # far beyond any platform's caption limit
MAX_LOOP_STEPS = 100_000  # iterations of range() per render
MAX_SEQUENCE = 100_000  # largest string or list a template may build with '*'
MAX_STRING_ARGUMENT = 10_000  # widths for center(), indent(), ljust() and the like
MAX_INT_BITS = (10**4300).bit_length()  # past this, Python refuses to print the number
_MARKERS = ("{{", "{%", "{#")
# Compiled template code is kept on disk between runs (see TemplateEngine). Its key already
# covers this module's source, Jinja's version and the Python bytecode format; bump this when
# anything else that shapes the generated code changes (e.g. a Jinja setting made elsewhere).
TEMPLATE_CACHE_VERSION = 1
# Compiled templates kept per engine. A caption is rendered once per account of its post, then
# rarely again: keeping every one made memory grow with the repository (3 MB per 1,000 posts).
MAX_COMPILED = 1024
# str methods that multiply their input by an argument and are no use in a caption.
_AMPLIFYING_STR_METHODS = frozenset({"translate", "maketrans", "expandtabs"})
# The start of a '{% for' tag as Jinja's lexer reads it ('{%', '-' or '+', whitespace, the
# name). Matching more (inside a comment or a string) is fine: it only decides whether to look.
_FOR_TAG = re.compile(r"\{%[-+]?\s*for\b")
# Widths and precisions in printf-style and str.format fields ('%99999d', '{:>99999}').
_FORMAT_WIDTH = re.compile(r"%[#0 +\-]*(\d*)(?:\.(\d*))?|\{[^{}]*?:[^{}\d]*(\d*)(?:\.(\d*))?")


class TemplateProblem(Exception):
    """A template failed to compile or render. `line` is 1-based inside `template_name`."""

    def __init__(self, kind: str, message: str, line: int = 0, template_name: str | None = None):
        super().__init__(message)
        self.kind = kind  # "syntax", "undefined", "sandbox", "limit", "include", "error"
        self.message = message
        self.line = line
        # Where inside an included snippet it failed ("templates/x.j2:3"), or None.
        self.template_name = template_name


class _Budget:
    def __init__(self) -> None:
        self.steps = 0

    def step(self) -> None:
        self.steps += 1
        if self.steps > MAX_LOOP_STEPS:
            raise TemplateProblem("limit", f"the template loops more than {MAX_LOOP_STEPS:,} times")


def _check_size(size: int) -> None:
    """Refuse, before building it, a string the output could never hold."""
    if size > MAX_OUTPUT_CHARS:
        raise TemplateProblem(
            "limit", f"the template would build more than {MAX_OUTPUT_CHARS:,} characters"
        )


def _check_int_bits(bits: int) -> None:
    """Refuse, before computing it, an integer Python could not even print (4,300 digits)."""
    if bits > MAX_INT_BITS:
        raise TemplateProblem("limit", "the template would compute a number of over 4,300 digits")


def _check_format_string(text: object) -> None:
    if isinstance(text, str):
        for match in _FORMAT_WIDTH.finditer(text):
            for digits in match.groups():
                if digits and (len(digits) > 6 or int(digits) > MAX_STRING_ARGUMENT):
                    raise TemplateProblem("limit", "a width in a format string is too large")


def _replaced_size(text: object, old: object, new: object, count: object = None) -> int:
    text, old, new = str(text), str(old), str(new)
    times = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        times = min(times, count)
    return len(text) + times * len(new)


class _Bounds(NodeTransformer):
    """Every loop iteration counts against the budget, and every '~' result is measured:
    nested loops over long strings or doubling by concatenation cannot hang or eat memory."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        loop = self.generic_visit(node)
        assert isinstance(loop, nodes.For)
        loop.iter = nodes.Filter(loop.iter, "_orshot_counted", [], [], None, None)
        loop.iter.set_lineno(loop.lineno)
        return loop

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        sized = nodes.Filter(self.generic_visit(node), "_orshot_sized", [], [], None, None)
        sized.set_lineno(node.lineno)
        return sized


# Nothing a template includes may come from here, whatever a link says: the environment
# (/proc/self/environ holds the API key in the apply job), devices, kernel state.
_SYSTEM_DIRS = tuple(Path(p) for p in ("/proc", "/sys", "/dev"))


class _RepoLoader(jinja2.BaseLoader):
    """Loads snippets for `{% include %}`, `{% import %}` and `{% extends %}`: only regular
    files inside templates_dir, none in `.git`, reached through no link that leaves the folder.

    With `tracked` (plan and apply), only the files git tracks there (paths relative to the
    folder): what the pull request showed, not what else the CI workspace holds (a
    credentials file another step wrote, ignored by a committed .gitignore). Without it (a
    local validate), the working tree's files, so a snippet can be tried before committing.
    """

    def __init__(self, templates_dir: Path | None, tracked: frozenset[str] | None = None) -> None:
        self.root = templates_dir.resolve() if templates_dir else None
        self.tracked = tracked

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        if self.root is None:
            raise jinja2.TemplateNotFound(template)
        pieces = jinja2.loaders.split_template_path(template)  # refuses '..'
        if ".git" in pieces:
            raise _refused(template, "is inside .git")
        candidate = self.root.joinpath(*pieces)
        try:
            return self._read(template, pieces, candidate)
        except jinja2.TemplateNotFound:  # an OSError too, to Jinja: let it through
            raise
        except (OSError, RuntimeError, ValueError) as exc:
            # A link loop, a name too long, an embedded NUL, bytes that are not UTF-8: said
            # as a problem in the caption, never as a traceback.
            raise _refused(template, f"cannot be read ({_unreadable(exc)})") from None

    def _read(
        self, template: str, pieces: list[str], candidate: Path
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        assert self.root is not None
        resolved = candidate.resolve()
        if not resolved.is_relative_to(self.root) or any(
            resolved.is_relative_to(system) for system in _SYSTEM_DIRS
        ):
            raise _refused(template, "leads out of the templates directory")
        if resolved.is_relative_to(self.root / ".git"):
            raise _refused(template, "leads into .git")
        if self.tracked is not None and "/".join(pieces) not in self.tracked:
            if not candidate.exists() and not candidate.is_symlink():
                raise jinja2.TemplateNotFound(template)  # `ignore missing` still works
            raise _refused(template, "is not tracked by git: commit it, or include another")
        if not resolved.is_file():
            raise jinja2.TemplateNotFound(template)
        source = resolved.read_text(encoding="utf-8")
        mtime = resolved.stat().st_mtime
        return source, str(candidate), lambda: resolved.stat().st_mtime == mtime


def _unreadable(exc: BaseException) -> str:
    if isinstance(exc, RuntimeError):  # Path.resolve() on a link that points at itself
        return "a symbolic link loop"
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return "not a valid file name"


def _refused(template: str, why: str) -> TemplateProblem:
    # A refusal, not "not found": `ignore missing` must not turn it into an innocent caption.
    return TemplateProblem("include", f"template {template!r} {why}")


class _Environment(SandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, templates_dir: Path | None, tracked: frozenset[str] | None = None) -> None:
        super().__init__(
            loader=_RepoLoader(templates_dir, tracked),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=False,
            auto_reload=False,
        )
        self.budget = _Budget()
        # lipsum(n=10**9) would build a gigantic string; nothing in a caption needs it.
        self.globals.pop("lipsum", None)
        self.globals["range"] = self._range
        for name in ("center", "indent", "wordwrap", "batch", "slice", "truncate", "format"):
            self.filters[name] = self._bounded(self.filters[name])
        for name in ("join", "replace", "tojson"):
            self.filters[name] = self._bounded(self.filters[name])
        self.filters["utm"] = utm_filter  # campaign parameters on a link (content/utm.py)
        self.filters["_orshot_counted"] = self._counted
        self.filters["_orshot_sized"] = self._sized

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        # _Bounds rewrites only For and Concat nodes and hands every other node back as it
        # is, so a tree with neither comes out unchanged: don't rebuild it. Only a '{% for'
        # tag makes a For and only '~' a Concat; without either, there is nothing to look for.
        if (_FOR_TAG.search(source) or "~" in source) and next(
            tree.find_all((nodes.For, nodes.Concat)), None
        ) is not None:
            bounded: nodes.Template = _Bounds().visit(tree)
            return bounded
        return tree

    @jinja2.pass_context  # never folded at compile time: the budget is per render
    def _counted(self, context: jinja2.runtime.Context, iterable: Any) -> Iterator[Any]:
        for item in iterable:
            self.budget.step()
            yield item

    @jinja2.pass_context
    def _sized(self, context: jinja2.runtime.Context, value: Any) -> Any:
        _check_size(len(value))
        return value

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str) and attr in _AMPLIFYING_STR_METHODS:
            return False
        return super().is_safe_attribute(obj, attr, value)

    def _range(self, *args: int) -> Iterator[int]:
        numbers = range(*args)
        if len(numbers) > MAX_LOOP_STEPS:
            raise TemplateProblem("limit", f"range() of more than {MAX_LOOP_STEPS:,} numbers")
        for number in numbers:
            self.budget.step()
            yield number

    def _bounded(self, function: Callable[..., Any]) -> Callable[..., Any]:
        name = function.__name__

        def checked(*args: Any, **kwargs: Any) -> Any:
            _check_arguments(args, kwargs)
            args = _estimate_filter(name, args, kwargs)
            result = function(*args, **kwargs)
            if isinstance(result, str | list | tuple):
                _check_size(len(result))
            return result

        # Jinja inspects pass_context/pass_environment markers on the function object.
        checked.__dict__.update(function.__dict__)
        return checked

    def call_binop(
        self, context: jinja2.runtime.Context, operator_: str, left: Any, right: Any
    ) -> Any:
        if operator_ == "**":
            if isinstance(right, int) and abs(right) > 64:
                raise TemplateProblem("limit", "exponent too large in '**'")
            if isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right > 0:
                _check_int_bits(left.bit_length() * right)
            return operator.pow(left, right)
        if operator_ == "%":
            _check_format_string(left)
            if isinstance(left, str) and "*" in left:
                _check_arguments(right if isinstance(right, tuple) else (right,), {})
            result = operator.mod(left, right)
            if isinstance(result, str):
                _check_size(len(result))
            return result
        if operator_ == "+":
            if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
                _check_size(len(left) + len(right))
            return operator.add(left, right)
        if isinstance(left, int) and isinstance(right, int):
            # Squaring in a loop doubles the digits each time: 30 rounds took 7 s and 128 MB.
            _check_int_bits(left.bit_length() + right.bit_length())
        if isinstance(left, int) and isinstance(right, str | list | tuple):
            left, right = right, left
        if (
            isinstance(left, str | list | tuple)
            and isinstance(right, int)
            and len(left) * right > MAX_SEQUENCE
        ):
            raise TemplateProblem("limit", f"'*' would build more than {MAX_SEQUENCE:,} items")
        return operator.mul(left, right)

    def call(self, __context: jinja2.runtime.Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        # Every call counts (macros calling themselves twice must not run forever); str
        # methods such as ljust, center, zfill take a size, replace and join multiply: bound them.
        self.budget.step()
        # Jinja wraps str.format (and format_map) in a function; look through the wrapper.
        receiver = getattr(getattr(__obj, "__wrapped__", __obj), "__self__", None)
        if isinstance(receiver, str | bytes):
            _check_arguments(args, kwargs)
            method = getattr(__obj, "__name__", "")
            if method == "replace" and len(args) >= 2:
                _check_size(_replaced_size(receiver, *args[:3]))
            elif method == "join" and args:
                items = list(args[0])
                _check_size(
                    sum(len(i) for i in items if isinstance(i, str | bytes))
                    + len(receiver) * max(len(items) - 1, 0)
                )
                args = (items, *args[1:])
            elif method == "format":
                _check_format_string(receiver)
        result = super().call(__context, __obj, *args, **kwargs)
        if isinstance(result, str | bytes | list | tuple):
            _check_size(len(result))
        return result


def _check_arguments(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    for value in (*args, *kwargs.values()):
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and abs(value) > MAX_STRING_ARGUMENT
        ):
            raise TemplateProblem(
                "limit", f"the number {value} is too large for a string operation"
            )


def _estimate_filter(
    name: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> tuple[Any, ...]:
    """Refuse a filter call whose result would be too large, before it is built. Returns the
    arguments to call it with (an iterable to join is read once, here)."""
    named = dict(kwargs)
    if name == "do_join" and len(args) >= 2:
        items = list(args[1])
        separator = args[2] if len(args) > 2 else named.get("d", "")
        _check_size(sum(len(str(i)) for i in items) + len(str(separator)) * max(len(items) - 1, 0))
        return (args[0], items, *args[2:])
    if name == "do_replace" and len(args) >= 4:
        _check_size(_replaced_size(*args[1:5]))
    elif name == "do_indent" and args:
        width = args[1] if len(args) > 1 else named.get("width", 4)
        per_line = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
        _check_size(len(str(args[0])) + (str(args[0]).count("\n") + 1) * per_line)
    elif name == "do_wordwrap" and len(args) >= 2:
        wrap = args[4] if len(args) > 4 else named.get("wrapstring")
        _check_size(len(str(args[1])) * (1 + len(str(wrap or "\n"))))
    elif name == "do_format" and args:
        _check_format_string(args[0])
    elif name == "do_tojson" and len(args) >= 2:
        indent = args[2] if len(args) > 2 else named.get("indent")
        try:
            compact = len(json.dumps(args[1], default=str))
        except (TypeError, ValueError):
            compact = 0
        _check_size(compact * (1 + (indent if isinstance(indent, int) else 0)))
    return args


@dataclass
class TemplateEngine:
    """Compiles each distinct template once and renders it within the bounds above.

    Compiling is most of `validate`'s time (~0.35 ms per distinct caption: parse, code
    generation, Python `compile()`), and a caption's code depends only on its text and on this
    module: so the code is also kept on disk (`orshot_gitops.content.cache`, "templates"), keyed by the
    sha256 of the source and of everything that shapes the code, and a later run loads it.
    """

    templates_dir: Path | None = None
    # Files git tracks in templates_dir, relative to it: plan and apply include only these.
    # None (a local validate): any regular file there (see _RepoLoader).
    tracked: frozenset[str] | None = None
    # None: the configured cache directory (ORSHOT_CACHE_DIR, off to disable).
    code_cache: DiskCache | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._env = _Environment(self.templates_dir, self.tracked)
        self._compiled: dict[str, jinja2.Template] = {}
        self._shapes = shapes.Shapes(self._env.compile)
        if self.code_cache is None:
            self.code_cache = DiskCache.named("templates")

    def compile(self, source: str) -> jinja2.Template | None:
        """The compiled template, or None for plain text (no Jinja markers: nothing to do)."""
        if not any(marker in source for marker in _MARKERS):
            return None
        template = self._compiled.get(source)
        if template is None:
            try:
                code = self._code(source)
            except jinja2.TemplateSyntaxError as exc:
                raise TemplateProblem("syntax", exc.message or "syntax error", exc.lineno) from None
            # What Environment.from_string does after compiling.
            env = self._env
            template = env.template_class.from_code(env, code, env.make_globals(None), None)
            if len(self._compiled) >= MAX_COMPILED:
                self._compiled.clear()
            self._compiled[source] = template
        return template

    def flush(self) -> None:
        """Write the compiled code still buffered to the disk cache (it writes in batches)."""
        if self.code_cache is not None:
            self.code_cache.flush()

    def _code(self, source: str) -> CodeType:
        """The module code of `source` (hardened by _Environment._parse), from disk if there."""
        cache = self.code_cache
        fingerprint = _code_fingerprint() if cache is not None and cache.enabled else None
        if cache is None or fingerprint is None:
            return self._fresh_code(source)
        key = key_of(fingerprint, source.encode("utf-8", "surrogatepass"))
        stored = cache.get(key)
        if stored is not None:
            try:
                code = marshal.loads(stored)
            except (ValueError, EOFError, TypeError):
                code = None
            if isinstance(code, CodeType):
                return code
        # A syntax error raises here and is not stored: it is reported, and rare.
        code = self._fresh_code(source)
        cache.put(key, marshal.dumps(code))
        return code

    def _fresh_code(self, source: str) -> CodeType:
        # Most captions share their tags with others and differ only in words: their code is
        # their shape's, compiled once, with the words put back (see shapes.py).
        code = self._shapes.code(source)
        return code if code is not None else self._env.compile(source)

    def render(self, source: str, variables: Mapping[str, Any]) -> str:
        template = self.compile(source)
        if template is None:
            return source
        self._env.budget = _Budget()
        try:
            return _collect(template.generate(dict(variables)))
        except TemplateProblem as problem:
            if not problem.line:
                problem.line, problem.template_name = _template_line(problem)
            raise
        except jinja2.UndefinedError as exc:
            line, name = _template_line(exc)
            raise TemplateProblem("undefined", _undefined_message(exc), line, name) from None
        except SecurityError as exc:
            line, name = _template_line(exc)
            raise TemplateProblem(
                "sandbox", f"not allowed in a template: {exc}", line, name
            ) from None
        except jinja2.TemplateNotFound as exc:
            line, name = _template_line(exc)
            raise TemplateProblem(
                "include", f"template {exc.name!r} not found", line, name
            ) from None
        except jinja2.TemplateSyntaxError as exc:  # in an included file
            line, _ = _template_line(exc)
            inner = f"{_short(exc.filename)}:{exc.lineno}" if exc.filename else None
            raise TemplateProblem("syntax", exc.message or "syntax error", line, inner) from None
        except UtmError as exc:
            line, name = _template_line(exc)
            raise TemplateProblem("error", str(exc), line, name) from None
        except RecursionError:
            raise TemplateProblem("limit", "the template recurses too deeply") from None
        except MemoryError:
            raise TemplateProblem("limit", "the template needs too much memory") from None
        except jinja2.TemplateError as exc:  # e.g. '{% extends %}' twice
            line, name = _template_line(exc)
            raise TemplateProblem("error", exc.message or type(exc).__name__, line, name) from None
        except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as exc:
            line, name = _template_line(exc)
            raise TemplateProblem("error", f"{type(exc).__name__}: {exc}", line, name) from None


_FINGERPRINT: list[bytes | None] = []


def _code_fingerprint() -> bytes | None:
    """Everything besides the source that the generated code depends on: this module (the
    environment, _Bounds, the filters whose markers codegen reads), Jinja, and the Python
    bytecode format (marshal'd code only loads into the interpreter version that made it).
    None if this module's source cannot be read: then nothing is cached."""
    if not _FINGERPRINT:
        try:
            # shapes.py too: it makes the code of most captions.
            module = Path(__file__).read_bytes() + Path(shapes.__file__).read_bytes()
        except OSError:
            _FINGERPRINT.append(None)
        else:
            header = f"{TEMPLATE_CACHE_VERSION}|{jinja2.__version__}|{sys.implementation.cache_tag}"
            _FINGERPRINT.append(
                hashlib.sha256(
                    header.encode() + b"|" + importlib.util.MAGIC_NUMBER + b"|" + module
                ).digest()
            )
    return _FINGERPRINT[0]


def _collect(chunks: Iterator[str]) -> str:
    parts: list[str] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_OUTPUT_CHARS:
            raise TemplateProblem(
                "limit", f"the template produces more than {MAX_OUTPUT_CHARS:,} characters"
            )
        parts.append(chunk)
    return "".join(parts)


def _template_line(exc: BaseException) -> tuple[int, str | None]:
    """The line in the caption's own template, and where in an included file it failed, if so.

    Jinja rewrites tracebacks so template frames carry template lines; the outermost one is
    the caption itself, the innermost the included snippet that actually failed.
    """
    line, inner = 0, None
    tb = exc.__traceback__
    while tb is not None:
        if "__jinja_exception__" in tb.tb_frame.f_globals:
            filename = tb.tb_frame.f_code.co_filename
            if filename == "<template>":
                line = line or tb.tb_lineno
            else:
                inner = f"{_short(filename)}:{tb.tb_lineno}"
        tb = tb.tb_next
    return line, inner


def _short(filename: str) -> str:
    # The loader names files by their absolute path; users know them as templates/x.j2.
    parts = Path(filename).parts
    return "/".join(parts[-2:]) if len(parts) >= 2 else filename


def _undefined_message(exc: jinja2.UndefinedError) -> str:
    message = exc.message or "undefined variable"
    if message.endswith("is undefined") and message.startswith("'"):
        name = message.split("'")[1]
        return f"undefined variable {name!r}"
    return message


def variable_names(source: str) -> set[str]:
    """Top-level variables a template reads (used to suggest where a name might be defined)."""
    from jinja2 import meta

    try:
        return set(meta.find_undeclared_variables(SandboxedEnvironment().parse(source)))
    except jinja2.TemplateSyntaxError:
        return set()


__all__ = ["MAX_OUTPUT_CHARS", "TemplateEngine", "TemplateProblem", "variable_names"]
