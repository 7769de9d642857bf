"""A caption's code made from its shape does what the caption's own compile does.

`shapes.py` compiles the captions that differ only in their words once, and puts each
caption's words back into the constants. Compared here instruction by instruction (each
constant's value, each template line) with Jinja compiling the caption itself, for the
examples, awkward hand-written cases and generated ones; and end to end, a repository's
captions render the same with and without shapes.
"""

from __future__ import annotations

import dis
from pathlib import Path
from types import CodeType
from typing import Any

import jinja2
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orshot_gitops.content import shapes
from orshot_gitops.content.cache import DiskCache
from orshot_gitops.content.templating import TemplateEngine, _template_line

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _engine(templates: Path | None = None) -> TemplateEngine:
    return TemplateEngine(templates or EXAMPLES / "templates", code_cache=DiskCache(None))


def _behaviour(code: CodeType) -> tuple[Any, ...]:
    """What the code does: each instruction with its argument's value and template line
    (jump offsets and constant slots left out: Python numbers those as it likes)."""
    steps = []
    for step in dis.get_instructions(code):
        value = step.argval
        if isinstance(value, CodeType):
            value = _behaviour(value)
        elif step.opcode in dis.hasjrel or step.opcode in dis.hasjabs:
            value = None
        steps.append((step.opname, value, step.positions.lineno if step.positions else None))
    return (code.co_name, code.co_firstlineno, code.co_names, code.co_varnames, tuple(steps))


def _compare(engine: TemplateEngine, source: str) -> bool:
    """True if shapes made the code; then it must do what Jinja's own compile of it does."""
    environment = engine._env  # the hardened sandbox every caption is compiled in
    made = shapes.Shapes(environment.compile).code(source)
    try:
        own = environment.compile(source)
    except jinja2.TemplateError:
        assert made is None, f"shapes compiled what Jinja refuses: {source!r}"
        return False
    if made is None:
        return False
    assert _behaviour(made) == _behaviour(own), source
    return True


def _example_captions() -> list[str]:
    found = []
    for path in sorted((EXAMPLES / "posts").rglob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        found.append(data["content"])
        for value in (data.get("render") or {}).get("modifications", {}).values():
            found.append(value)
        for options in (data.get("platform_options") or {}).values():
            found += list(options.values())
    return [s for s in found if isinstance(s, str) and any(m in s for m in ("{{", "{%"))]


def test_the_examples_captions_are_made_from_their_shapes_and_do_the_same() -> None:
    captions = _example_captions()
    engine = _engine()
    made = [source for source in captions if _compare(engine, source)]
    # Most have a shape: a change that made none would pass the comparison and save nothing.
    assert len(made) >= len(captions) * 2 // 3, (len(made), len(captions))


AWKWARD = [
    "Hello {{ name }}, welcome!",
    "  leading and trailing  {{ name }}  \n\n",
    "{{ name }}\n\nTwo\nlines {{ name }} and {{ name }} again\n",
    "same {{ a }} same {{ b }} same",  # equal words share a constant slot
    "platform {{ platform }} twitter {% if platform == 'twitter' %}twitter{% endif %}",
    "a {%- if x -%}  b  {%- else -%} c {%- endif -%} d",
    "text {{- name -}} text {{+ name }} text",
    "{{ '}}' }} after a string holding the end of a tag",
    '{{ "%}" }} {% if "%}" %}x{% endif %}',
    "{# a comment with }} and %} inside #} words",
    "{#- trimmed comment -#}   words   {#- again -#}",
    "{% raw %}{{ not a tag }}{% endraw %} words",
    "{% autoescape true %}<b>&</b>{{ name }}{% endautoescape %}",
    '{{ "%c"|format(0) }} words next to a computed NUL',
    "{{ {'a': 1}['a'] }} braces in a tag",
    "{% set x %}inner words{% endset %}{{ x }} outer",
    "{% macro m(n) %}macro words {{ n }}{% endmacro %}{{ m(1) }} and {{ m(2) }}",
    "{% filter upper %}filtered words{% endfilter %} {{ name }}",
    "{% for i in items %}item {{ i }}, {% endfor %}done",
    "{% extends 'base.j2' %}outside any block{% block b %}inside{% endblock %}",
    "tabs\tand\u00a0no-break\u2028line separators {{ name }}",
    "emoji 🚀 and accents éà {{ name }}",
    "back\\slash and 'quotes' and \"more\" {{ name }}",
    "{{ name }} {{ unclosed",
    "{% if %}broken{% endif %}",
    "words {{ name }",
    "carriage\r\nreturn {{ name }}",
    "{{ name }}" + " ".join(f"word{i}" for i in range(300)),
]


@pytest.mark.parametrize("source", AWKWARD)
def test_awkward_captions_are_made_the_same_or_compiled_on_their_own(source: str) -> None:
    _compare(_engine(), source)


def test_what_would_misplace_words_has_no_shape() -> None:
    for source in (
        "{% raw %}{{ x }}{% endraw %} words",  # raw: text that looks like tags
        "{% autoescape true %}a & b{% endautoescape %}",  # escaped while compiling
        "carriage\r\nreturn {{ x }}",  # the lexer rewrites it
        "{{ {'a': 1} }} words",  # braces: Jinja balances them, the splitter does not
    ):
        assert shapes.shape_of(source) is None, source
    assert shapes.shape_of("a {{ x }} b") == ("\x000\x00 {{ x }} \x001\x00", ("a", "b"))


def test_a_nul_the_template_computes_sends_it_to_its_own_compile() -> None:
    environment = _engine()._env
    source = '{{ "%c"|format(0) }} words'
    assert shapes.Shapes(environment.compile).code(source) is None


FRAGMENTS = [
    "Hello",
    "two words",
    " ",
    "\n",
    "\t",
    "\u00a0",
    "a\nb",
    "x}y",
    "%}",
    "}}",
    "#}",
    "{",
    "}",
    "'",
    '"',
    "\\",
    "é",
    "{{ name }}",
    "{{- name -}}",
    "{{ 'a}}b' }}",
    '{{ "c%}" }}',
    "{% if platform == 'x' %}",
    "{%- if true -%}",
    "{% else %}",
    "{% endif %}",
    "{% for i in items %}",
    "{% endfor %}",
    "{# c }} #}",
    "{#- c -#}",
    "{% raw %}",
    "{% endraw %}",
    "{% set x %}",
    "{% endset %}",
    "{{ x ~ 'y' }}",
    "{% filter upper %}",
    "{% endfilter %}",
    "{{ {'a': 1} }}",
    "{{",
    "{%",
    "{#",
]


@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=12))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_generated_captions_are_made_the_same_or_compiled_on_their_own(parts: list[str]) -> None:
    _compare(_engine(), "".join(parts))


def _run(environment: Any, code: CodeType, variables: dict[str, Any]) -> tuple[Any, ...]:
    template = environment.template_class.from_code(
        environment, code, environment.make_globals(None), None
    )
    try:
        return ("ok", "".join(template.generate(dict(variables))))
    except Exception as exc:  # the problem and its template line are compared
        return ("problem", type(exc).__name__, str(exc), _template_line(exc))


def test_captions_render_the_same_and_fail_at_the_same_line(tmp_path: Path) -> None:
    (tmp_path / "base.j2").write_text("{% block b %}base{% endblock %}", encoding="utf-8")
    environment = _engine(tmp_path)._env
    made = shapes.Shapes(environment.compile)
    sources = [*_example_captions(), *AWKWARD, "line one\nline two {{ missing }}\nthree"]
    checked = 0
    for variables in ({"name": "Ada", "platform": "x", "items": [1, 2], "x": "y"}, {}):
        for source in sources:
            try:
                own = environment.compile(source)
            except jinja2.TemplateError:
                continue
            code = made.code(source)
            if code is None:
                continue
            checked += 1
            assert _run(environment, code, variables) == _run(environment, own, variables), source
    assert checked >= 20
