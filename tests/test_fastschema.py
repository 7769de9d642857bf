"""The fast schema check may only say "valid" where jsonschema says so; X lengths stay exact."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker

from orshot_gitops.content.fastschema import compile_schema, conforms

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"

ACCOUNT = {
    "account_id": 2,
    "fingerprint": "a" * 64,
    "revision": 1,
    "status": "scheduled",
    "step": None,
    "post_id": 7,
    "url": None,
    "error": None,
    "action": "create",
    "attempts": 1,
    "first_attempt_at": "2026-01-01T00:00:00+00:00",
    "last_attempt_at": "2026-01-01T00:00:00+00:00",
    "scheduled_for": "2031-01-01T09:00:00+00:00",
    "group": None,
}
STATE = {
    "version": 1,
    "serial": 3,
    "lineage": "0b7c5e4e-2d1a-4e8e-9a3f-6c1d2e3f4a5b",
    "commit": "3f786850e387550fdab836ed7e6dc881de23001b",
    "posts": {
        "2026/launch": {
            "path": "posts/2026/launch.yaml",
            "revision": 1,
            "render": {"fingerprint": "b" * 64, "media_urls": ["https://x/y.png"]},
            "accounts": {"acme-linkedin": ACCOUNT},
        }
    },
}
POST = {
    "accounts": ["acme-x", 2],
    "content": "{{ product }} is live",
    "vars": {"version": "2.0"},
    "render": {"template": 123, "modifications": {"title": "x", "n": 1}, "format": "png"},
    "schedule": "2031-01-01T09:00",
    "timezone": "Europe/Berlin",
    "draft": False,
    "platform_options": {"acme-linkedin": {"firstComment": "hi", "disableLinkPreview": True}},
    "revision": 1,
}

# Values that break types, enums, patterns, bounds and formats in many ways.
ODD = st.sampled_from(
    [
        None,
        True,
        False,
        0,
        1,
        -1,
        1.0,
        1.5,
        "",
        "x",
        "pending",
        "published",
        "drafted",
        "draft",
        "a" * 64,
        "A" * 64,
        "2026-01-01T00:00:00Z",
        "2026-01-01 00:00",
        "posts/a.yaml",
        "/abs.yaml",
        "123",
        "acme-x",
        "https://cdn/x.png",
        "ftp://x",
        "not a uri",
        "png",
        "pdf",
        [],
        ["a"],
        ["a", "a"],
        [1, 1.0],
        [True, 1],
        {},
        {"x": 1},
    ]
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any]) -> Any:
    value = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(value)))
        action = draw(st.sampled_from(["set", "delete", "add"]))
        if not path:
            continue
        parent: Any = value
        for part in path[:-1]:
            parent = parent[part]
        last = path[-1]
        if action == "delete" and isinstance(parent, dict):
            del parent[last]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["extra", "1", "status", "media_url", "media_urls"]))] = (
                copy.deepcopy(draw(ODD))
            )
        else:
            parent[last] = copy.deepcopy(draw(ODD))
    return value


def _check(name: str, with_formats: bool) -> tuple[Any, Draft202012Validator]:
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    checker = FormatChecker() if with_formats else None
    fast = compile_schema(schema, checker.conforms if checker else None)
    assert fast is not None, f"{name} uses a keyword the fast check does not know"
    return fast, Draft202012Validator(schema, format_checker=checker)


@pytest.mark.parametrize(
    ("name", "base", "formats"),
    [("state.schema.json", STATE, False), ("post.schema.json", POST, True)],
)
def test_the_valid_examples_are_valid_to_both(name: str, base: Any, formats: bool) -> None:
    fast, slow = _check(name, formats)
    assert slow.is_valid(base)
    assert conforms(fast, base)


@settings(max_examples=400, deadline=None)
@given(instance=mutated(STATE))
def test_state_fast_yes_implies_jsonschema_yes(instance: Any) -> None:
    fast, slow = _check("state.schema.json", False)
    if conforms(fast, instance):
        assert slow.is_valid(instance), list(slow.iter_errors(instance))[:1]


@settings(max_examples=400, deadline=None)
@given(instance=mutated(POST))
def test_post_fast_yes_implies_jsonschema_yes(instance: Any) -> None:
    fast, slow = _check("post.schema.json", True)
    if conforms(fast, instance):
        assert slow.is_valid(instance), list(slow.iter_errors(instance))[:1]


def test_an_unknown_keyword_means_no_fast_check() -> None:
    assert compile_schema({"type": "object", "dependentRequired": {"a": ["b"]}}) is None


@pytest.mark.parametrize(
    "text",
    [
        "plain ascii https://acme.example.com/x and acme.com",
        "— Acme Rockets · https://acme.example.com",
        "café e\u0301 日本語",
        "emoji 😷 and 👨\u200d🎤",
        "keycap #\ufe0f\u20e3 1\u20e3",
        "text-style ☺ ☺\ufe0f © ® ™ ‼ ↔\ufe0f",
        "flag 🇩🇪 tag 🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",
        "line\r\nends\rmixed\n",
        "",
    ],
)
def test_x_length_matches_twitter_text(text: str) -> None:
    from twitter_text import parse_tweet

    from orshot_gitops.content.platforms import _twitter_length

    _twitter_length.cache_clear()
    assert _twitter_length(text) == parse_tweet(text).weightedLength
