"""Fuzzed inputs: the post loader, the templating and `validate`, on anything a pull request
could contain. Never a traceback, never a hang, never runaway memory; `validate` exits 0 or 1.

Each case is bounded to 2 s of CPU time (`cpu_bounded`: the work done, which a busy machine
does not stretch, unlike hypothesis' wall-clock deadline); memory by the process' peak RSS, which
may not grow by more than MAX_RSS_GROWTH_MB over the whole run. The default run is quick;
ORSHOT_FUZZ_EXAMPLES=5000 (read at import time: conftest.py clears ORSHOT_* variables inside
tests) runs longer. docs/security.md says how long they ran and what they found.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import resource
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ParamSpec

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from orshot_gitops.cli import main
from orshot_gitops.content.templating import TemplateEngine, TemplateProblem
from orshot_gitops.content.yamlload import decode, load_document
from orshot_gitops.errors import UserError

EXAMPLES = int(os.environ.get("ORSHOT_FUZZ_EXAMPLES", "150"))
MAX_RSS_GROWTH_MB = 400
P = ParamSpec("P")
CASE_CPU_SECONDS = 2.0
FUZZ = settings(
    max_examples=EXAMPLES,
    # No wall-clock deadline: other test processes on the same cores stretch it, and a case
    # that took 3 s of wall time under load failed a run that passed alone. `cpu_bounded`
    # keeps the bound on the work itself.
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def cpu_bounded(test: Callable[P, None]) -> Callable[P, None]:
    """Fail a case that takes more than CASE_CPU_SECONDS of this process' CPU time."""

    @functools.wraps(test)
    def bounded(*args: P.args, **kwargs: P.kwargs) -> None:
        started = time.process_time()
        test(*args, **kwargs)
        used = time.process_time() - started
        assert used < CASE_CPU_SECONDS, f"one case took {used:.1f} s of CPU time"

    return bounded


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


_START_RSS = _rss_mb()


def _memory_bounded() -> None:
    grown = _rss_mb() - _START_RSS
    assert grown < MAX_RSS_GROWTH_MB, f"peak memory grew by {grown:.0f} MB"


# --- YAML: arbitrary bytes, and YAML-ish text from the fragments that break parsers ---------

YAML_FRAGMENTS = st.sampled_from(
    [
        "accounts: [x]\n",
        "content: hi\n",
        "content: |\n  line\n",
        "content: >-\n  folded\n",
        "a: &a [1, 2, 3]\n",
        "b: &b {k: *a}\n",
        "c: &c [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n",
        "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n",
        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n",
        "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
        "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n",
        "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n",
        "<<: *b\n",
        "<<: [*b, *a]\n",
        "loop: &l [*l]\n",
        "self: &s {me: *s}\n",
        "! tagged: !custom value\n",
        "obj: !!python/object/apply:os.system ['echo pwned']\n",
        "name: !!python/name:os.system\n",
        "bin: !!binary aGVsbG8=\n",
        "set: !!set {a, b}\n",
        "omap: !!omap [a: 1]\n",
        "ts: 2026-12-01T09:00:00Z\n",
        "float: .inf\n",
        "nan: .NaN\n",
        "big: 1e999999\n",
        "int: 0x_ff\n",
        "octal: 0o777\n",
        "sexagesimal: 190:20:30\n",
        # Past Python's int-string conversion limit (4,300 digits): a ValueError, not a crash.
        "big: " + "7" * 5000 + "\n",
        "bighex: 0x" + "f" * 5000 + "\n",
        "bigsexagesimal: 1" + ":59" * 3000 + "\n",
        "deep: " + "[" * 2000 + "]" * 2000 + "\n",
        "yes: no\n",
        "~: null\n",
        "? [complex, key]\n: value\n",
        "? {a: 1}\n: value\n",
        "dup: 1\ndup: 2\n",
        "nested: [[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]\n",
        "flow: {a: [b, {c: [d, {e: f}]}]}\n",
        "'quoted key': \"\\u263a \\x00 \\U0001F680\"\n",
        "---\n",
        "...\n",
        "%YAML 1.1\n",
        "%TAG ! tag:example.com,2000:\n",
        "  indented: badly\n",
        "\t tab: indent\n",
        "- a list at the top\n",
        "key: [unclosed\n",
        "key: {unclosed: \n",
        "key: 'unterminated\n",
        "key: *undefined_alias\n",
        "key: &dup_anchor 1\nother: &dup_anchor 2\n",
        "\ufeffbom: here\n",
        "\x85next-line: char\n",
        "\u2028sep: here\n",
        "emoji: 🚀🚀🚀\n",
        "# just a comment\n",
        "\n",
        "",
    ]
)
YAMLISH = st.lists(YAML_FRAGMENTS | st.text(max_size=20), max_size=14).map("".join)


def _load(raw: bytes) -> None:
    try:
        load_document(decode(raw, "posts/fuzz.yaml"), "posts/fuzz.yaml")
    except UserError as exc:
        assert exc.message  # a message for the user, with a place in the file
    _memory_bounded()


@FUZZ
@given(st.binary(max_size=2000))
@cpu_bounded
def test_loader_never_crashes_on_bytes(raw: bytes) -> None:
    _load(raw)


@FUZZ
@given(YAMLISH)
@example("revision: " + "7" * 5000 + "\n")
@example("vars:\n  ? " + "7" * 5000 + "\n  : 1\n")
@example("vars: {n: 0x" + "f" * 5000 + "}\n")
@example("vars:\n  n: 1" + ":59" * 3000 + "\n")
@example("deep: " + "[" * 100_000 + "]" * 100_000 + "\n")
@cpu_bounded
def test_loader_never_crashes_on_yamlish_text(text: str) -> None:
    _load(text.encode("utf-8", "surrogatepass"))


def test_the_alias_bomb_fragments_are_refused_not_expanded() -> None:
    fragments = ["a: &a [1, 2, 3]\n"] + [
        f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("acdefg", "cdefgh", strict=True)
    ]
    with pytest.raises(UserError, match="expands to more than"):
        load_document("".join(fragments), "posts/bomb.yaml")
    _memory_bounded()


# --- templates: Jinja fragments that loop, multiply, format and reach for internals ---------

TEMPLATE_FRAGMENTS = st.sampled_from(
    [
        "{{ product }}",
        "{{ product.upper() }}",
        "{{ product|upper|replace('A', 'B' * 999) }}",
        "{{ items|join(', ') }}",
        "{{ items|join('x' * 9999) }}",
        "{{ (product * 99999)|list|join('y' * 9999) }}",
        "{{ ('x' * 99999).replace('x', 'yy' * 5000) }}",
        "{{ 'x' * 99999 }}",
        "{{ 99999 * 'x' }}",
        "{{ ['x'] * 99999 }}",
        "{{ 'ab' * 10**6 }}",
        "{{ 2 ** 10000 }}",
        "{{ 10 ** 64 * 10 ** 64 }}",
        "{{ 1 / 0 }}",
        "{{ 1 // 0 }}",
        "{{ '%99999999d' % 1 }}",
        "{{ '%*d' % (99999999, 1) }}",
        "{{ '{:>99999999}'.format(1) }}",
        "{{ '{0:{1}}'.format(1, 99999999) }}",
        "{{ '{0.__class__}'.format(product) }}",
        "{{ '%s'|format(product) }}",
        "{{ '%99999999s'|format(product) }}",
        "{{ product|center(9999) }}",
        "{{ product.ljust(99999999) }}",
        "{{ ('\\t' * 99999).expandtabs(9999) }}",
        "{{ ('\\n' * 99999)|indent(9999) }}",
        "{{ ('a ' * 99999)|wordwrap(1, wrapstring='x' * 9999) }}",
        "{{ items|tojson(indent=9999) }}",
        "{{ ('x' * 99999)|list|tojson(indent=9999) }}",
        "{% for i in range(10) %}{{ i }}{% endfor %}",
        "{% for i in range(10**9) %}{% endfor %}",
        "{% for a in 'x' * 99999 %}{% for b in 'x' * 99999 %}{% endfor %}{% endfor %}",
        "{% for i in items recursive %}{{ loop([1, 2]) if loop.depth < 30 }}{% endfor %}",
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}",
        "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
        "{% set s = 'x' * 99999 %}{% set s = s ~ s ~ s %}{{ s|length }}",
        "{% set l = ['x'] * 99999 %}{% set l = l + l + l %}{{ l|length }}",
        "{% set ns = namespace(s='x' * 99999) %}"
        "{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ joiner.__init__.__globals__.os }}",
        "{{ namespace.__init__.__globals__ }}",
        "{{ lipsum.__globals__['os'].popen('id').read() }}",
        "{{ range.__globals__ }}",
        "{{ self._TemplateReference__context }}",
        "{{ self.__init__.__globals__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ ''.__class__ }}",
        "{{ config }}",
        "{{ request }}",
        "{{ product|attr('__class__') }}",
        "{{ product.translate({120: 'y' * 9999}) }}",
        "{% include '../../etc/passwd' %}",
        "{% include '/etc/passwd' %}",
        "{% include 'missing.j2' %}",
        "{% include 'sig.j2' %}",
        "{% extends 'sig.j2' %}",
        "{% import 'sig.j2' as s %}",
        "{{ undefined_name }}",
        "{{ product.nope }}",
        "{{ items[99] }}",
        "{% if %}",
        "{{ ",
        "{% endfor %}",
        "{# comment #}",
        "{% raw %}{{ not rendered }}{% endraw %}",
        "plain text ",
        "\n",
    ]
)
TEMPLATES = st.lists(TEMPLATE_FRAGMENTS | st.text(max_size=10), min_size=1, max_size=6).map("".join)
VARIABLES = {"product": "Acme", "items": ["a", "b", "c"], "platform": "twitter"}


@pytest.fixture(scope="module")
def templates_dir() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="orshot-fuzz-templates-"))
    (root / "sig.j2").write_text("-- {{ product }}\n", encoding="utf-8")
    yield root
    shutil.rmtree(root, ignore_errors=True)


@FUZZ
@given(source=TEMPLATES)
# Found by this fuzzer: jinja2.TemplateRuntimeError escaped render() (validate crashed, exit 3).
@example(source="{% extends 'sig.j2' %}{% extends 'sig.j2' %}")
# Found by this fuzzer: hangs (nested loops, recursive macros) and 100 MB-1 GB strings.
@example(source="{% for a in 'x' * 99999 %}{% for b in 'x' * 99999 %}{% endfor %}{% endfor %}")
@example(
    source="{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}"
)
@example(source="{{ (product * 99999)|list|join('y' * 9999) }}")
@example(source="{{ '{:>99999999}'.format(1) }}")
# Found by the issue-11 review: squaring in a loop doubles a number's digits each round.
@example(
    source="{% set ns = namespace(x=2) %}{% for i in range(40) %}"
    "{% set ns.x = ns.x * ns.x %}{% endfor %}{{ ns.x > 1 }}"
)
@cpu_bounded
def test_templates_render_or_fail_cleanly(templates_dir: Path, source: str) -> None:
    engine = TemplateEngine(templates_dir)
    try:
        out = engine.render(source, VARIABLES)
    except TemplateProblem as problem:
        assert problem.kind in ("syntax", "undefined", "sandbox", "limit", "include", "error")
    else:
        assert isinstance(out, str)
        assert "root:" not in out and "__builtins__" not in out and "<class" not in out
    _memory_bounded()


# --- validate, end to end: a generated post file in a content repository --------------------

CONFIG = """\
accounts:
  x: {id: 1, platform: twitter}
  li: {id: 2, platform: linkedin}
vars:
  product: Acme
  items: [a, b, c]
timezone: UTC
"""
SCALARS = st.one_of(
    TEMPLATES,
    st.text(max_size=30),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True),
    st.booleans(),
    st.none(),
)
VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=8,
)
KEYS = st.sampled_from(
    [
        "accounts",
        "content",
        "vars",
        "media_url",
        "media_urls",
        "render",
        "schedule",
        "timezone",
        "draft",
        "platform_options",
        "revision",
        "bogus",
    ]
)


def _post_text(data: st.DataObject) -> str:
    import json

    kind = data.draw(st.sampled_from(["structured", "yamlish", "bytes-ish"]))
    if kind == "yamlish":
        text: str = data.draw(YAMLISH)
        return text
    if kind == "bytes-ish":
        text = data.draw(st.text(max_size=300))
        return text
    post: dict[str, object] = {
        "accounts": data.draw(st.sampled_from([["x"], ["x", "li"], ["nope"], "x", []])),
        "content": data.draw(TEMPLATES),
    }
    for key in data.draw(st.lists(KEYS, max_size=4, unique=True)):
        post[key] = data.draw(VALUES)
    # JSON is YAML: every generated value is written exactly.
    return json.dumps(post, ensure_ascii=data.draw(st.booleans()))


@pytest.fixture(scope="module")
def content_root() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="orshot-fuzz-repo-"))
    (root / "orshot.yaml").write_text(CONFIG, encoding="utf-8")
    (root / "templates").mkdir()
    (root / "templates" / "sig.j2").write_text("-- {{ product }}\n", encoding="utf-8")
    (root / "posts").mkdir()
    yield root
    shutil.rmtree(root, ignore_errors=True)


@settings(FUZZ, max_examples=max(EXAMPLES // 2, 20))
@given(data=st.data())
@cpu_bounded
def test_validate_exits_0_or_1_without_a_traceback(content_root: Path, data: st.DataObject) -> None:
    post = content_root / "posts" / "fuzz.yaml"
    post.write_text(_post_text(data), encoding="utf-8", errors="surrogatepass")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["validate", "--repo", str(content_root)])
    assert code in (0, 1), f"exit {code}\n{out.getvalue()}\n{err.getvalue()}"
    assert "Traceback" not in out.getvalue() + err.getvalue()
    assert "crashed" not in err.getvalue()
    _memory_bounded()


# --- the state file: what a pull request (or a bad merge) could leave in .orshot/state.json --

JSON_FRAGMENTS = st.sampled_from(
    [
        '{"version": 1, "lineage": "x", "serial": 1, "posts": {}}',
        '{"version": 1, "serial": ' + "7" * 5000 + "}",
        '{"version": 1, "posts": ' + "[" * 100_000 + "]" * 100_000 + "}",
        '{"version": 1, "posts": ' + "[" * 990 + "]" * 990 + "}",
        '{"version": 99}',
        '{"a": 1, "a": 2}',
        "<<<<<<< ours\n",
        "=======\n",
        "NaN",
        "1e999",
        "[",
        "}",
        '"\\ud800"',
        ",",
        ":",
    ]
)


@FUZZ
@given(st.lists(JSON_FRAGMENTS | st.text(max_size=20), max_size=6).map("".join))
@example('{"version": 1, "serial": ' + "7" * 5000 + "}")
@example('{"version": 1, "posts": ' + "[" * 100_000 + "]" * 100_000 + "}")
@example('{"version": 1, "posts": ' + "[" * 990 + "]" * 990 + "}")
@cpu_bounded
def test_state_parser_never_crashes(text: str) -> None:
    from orshot_gitops.state.store import parse_state

    try:
        parse_state(text)
    except UserError as exc:
        assert exc.message and "\n" not in exc.message
    _memory_bounded()


# --- the environment: settings are checked, never crash, and never echo their value ------------

KEY = "sk_live_FUZZ_key_4d2c1b0a99"
SETTING_FRAGMENTS = st.sampled_from(
    ["http://", "https://", "[", "]", ":", "abc", "99999", "0", "/", "?", "#", "@", " ", "v1",
     "127.0.0.1", "localhost", "[::1]", "api.orshot.com", "inf", "nan", "-", ".", "e999",
     "7" * 5000, "\u00e9", "%"]
)  # fmt: skip
SETTING_TEXT = st.lists(SETTING_FRAGMENTS | st.text(max_size=6), max_size=8).map("".join)


@FUZZ
@given(
    variable=st.sampled_from(["ORSHOT_BASE_URL", "ORSHOT_RATE_LIMIT", "ORSHOT_SETTLE_AFTER"]),
    before=SETTING_TEXT,
    after=SETTING_TEXT,
)
@example(variable="ORSHOT_BASE_URL", before="http://[x", after="")
@example(variable="ORSHOT_BASE_URL", before="http://[::1]x", after="")
@example(variable="ORSHOT_BASE_URL", before="https://", after="http://\x08")
@example(variable="ORSHOT_BASE_URL", before="http://127.0.0.1:abc", after="")
@example(variable="ORSHOT_BASE_URL", before="https://api.orshot.com/?key=", after="")
@example(variable="ORSHOT_BASE_URL", before="https://api.orshot.com:", after="")
@example(variable="ORSHOT_RATE_LIMIT", before="10/", after="")
@example(variable="ORSHOT_SETTLE_AFTER", before="1e300", after="")
@cpu_bounded
def test_settings_are_checked_without_crashing_or_echoing(
    variable: str, before: str, after: str
) -> None:
    import httpx

    from orshot_gitops.orshot.settings import check_environment, normalize_base_url

    for value in (before, before + KEY + after):
        try:
            check_environment({variable: value})
        except UserError as exc:
            assert variable in exc.message
            assert KEY not in f"{exc} {exc.hint}" and KEY[8:20] not in f"{exc} {exc.hint}"
        else:
            if variable == "ORSHOT_BASE_URL" and value.strip():
                # Accepted means usable: httpx must not refuse it at the first request.
                httpx.Request("GET", normalize_base_url(value) + "/v1/social/accounts")
