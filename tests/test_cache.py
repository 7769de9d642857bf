"""The on-disk cache: compiled template code and the state's "checked and valid" memo.

Both only save time: every answer must be the one the uncached path gives, a damaged or
untrusted cache is ignored, and ORSHOT_CACHE_DIR=off turns it off.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from jinja2.sandbox import SandboxedEnvironment

from orshot_gitops.content import templating
from orshot_gitops.content.cache import DB_NAME, DiskCache, cache_root, key_of
from orshot_gitops.content.templating import TemplateEngine, TemplateProblem
from orshot_gitops.state import store as state_store
from orshot_gitops.state.model import AccountState, AccountStatus, PostState, State, Step, new_state
from orshot_gitops.state.store import dump_state, parse_state


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("ORSHOT_CACHE_DIR", str(directory))
    return directory


def test_where_the_cache_lives(tmp_path: Path) -> None:
    assert cache_root({"ORSHOT_CACHE_DIR": str(tmp_path)}) == tmp_path
    assert cache_root({"ORSHOT_CACHE_DIR": "off"}) is None
    assert cache_root({"ORSHOT_CACHE_DIR": "OFF"}) is None
    assert cache_root({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "orshot-gitops"
    # A relative XDG_CACHE_HOME is invalid by the spec: the home default is used.
    assert cache_root({"XDG_CACHE_HOME": "rel"}) == Path.home() / ".cache" / "orshot-gitops"


def test_entries_round_trip_and_damaged_ones_are_ignored(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path / "c")
    key = key_of(b"some", b"input")
    assert cache.get(key) is None
    cache.put(key, b"payload")
    cache.flush()
    assert DiskCache(tmp_path / "c").get(key) == b"payload"
    assert (tmp_path / "c").stat().st_mode & 0o777 == 0o700
    # One flipped byte in the stored value: not loaded.
    with sqlite3.connect(tmp_path / "c" / DB_NAME) as db:
        (value,) = db.execute("SELECT value FROM entries WHERE key = ?", (key,)).fetchone()
        damaged = bytes(value[:-1]) + bytes([value[-1] ^ 1])
        db.execute("UPDATE entries SET value = ? WHERE key = ?", (damaged, key))
        # Another key's (valid) value under this key: not loaded either.
        other = key_of(b"other")
        db.execute("INSERT INTO entries VALUES (?, ?)", (other, value))
    db.close()
    fresh = DiskCache(tmp_path / "c")
    assert fresh.get(key) is None
    assert fresh.get(other) is None
    fresh.put(key, b"payload")  # rewritten
    fresh.flush()
    assert DiskCache(tmp_path / "c").get(key) == b"payload"


def test_a_file_that_is_not_a_database_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "c").mkdir(mode=0o700)
    (tmp_path / "c" / DB_NAME).write_bytes(b"not a database at all" * 100)
    cache = DiskCache(tmp_path / "c")
    assert cache.get("0" * 64) is None
    cache.put("0" * 64, b"x")
    cache.flush()
    assert DiskCache(tmp_path / "c").get("0" * 64) == b"x"


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_a_directory_others_may_write_is_not_used(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    cache = DiskCache(shared)
    assert not cache.enabled
    cache.put("0" * 64, b"x")
    cache.flush()
    assert cache.get("0" * 64) is None
    assert not (shared / DB_NAME).exists()


def _count_compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    compiled: list[str] = []
    original = templating._Environment.compile

    def counting(self: templating._Environment, source: str, *args: object, **kw: object) -> object:
        compiled.append(source)
        return original(self, source, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(templating._Environment, "compile", counting)
    return compiled


TEMPLATES = [
    "Hello {{ product }}!",
    "{% for i in range(3) %}{{ i }}{% endfor %} for {{ product ~ '!' }}",
    "Made for you: {{ product | upper }}",  # 'for' in the text, no loop
    "line one\n{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}",
    "line one\nline two {{ missing }}",
]


def _outcomes(engine: TemplateEngine) -> list[object]:
    results: list[object] = []
    for source in TEMPLATES:
        try:
            results.append(engine.render(source, {"product": "Acme"}))
        except TemplateProblem as problem:
            results.append((problem.kind, problem.message, problem.line))
    engine.flush()
    return results


def test_compiled_templates_are_reused_by_the_next_run_with_the_same_results(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled = _count_compiles(monkeypatch)
    first = _outcomes(TemplateEngine())
    assert len(compiled) == len(TEMPLATES)
    del compiled[:]
    second = _outcomes(TemplateEngine())
    assert compiled == []  # all from the cache
    assert second == first
    # Loops are still counted and line numbers still point into the caption.
    assert first[3] == ("limit", "the template loops more than 100,000 times", 2)
    assert first[4] == ("undefined", "undefined variable 'missing'", 2)
    # The uncached engine agrees.
    monkeypatch.setenv("ORSHOT_CACHE_DIR", "off")
    assert _outcomes(TemplateEngine()) == first
    assert len(compiled) == len(TEMPLATES)


def test_syntax_errors_are_never_cached(cache_dir: Path) -> None:
    for _ in range(2):
        with pytest.raises(TemplateProblem) as caught:
            TemplateEngine().render("Hi {{ product }", {"product": "Acme"})
        assert caught.value.kind == "syntax"


def test_cache_off_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORSHOT_CACHE_DIR", "off")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert TemplateEngine().render("Hi {{ product }}", {"product": "Acme"}) == "Hi Acme"
    assert list(tmp_path.iterdir()) == []


def test_the_bounds_rewrite_is_skipped_only_when_it_would_change_nothing() -> None:
    env = templating._Environment(None)
    for source in [*TEMPLATES, "{{ a ~ b }}", "{%- for x in y %}{% endfor %}", "formula {{ x }}"]:
        plain = SandboxedEnvironment._parse(env, source, None, None)
        assert env._parse(source, None, None) == templating._Bounds().visit(plain), source


def _state_text() -> str:
    record = AccountState(
        account_id=1, fingerprint="f" * 64, revision=1, status=AccountStatus.PUBLISHED
    )
    pending = AccountState(
        account_id=2,
        fingerprint="e" * 64,
        revision=1,
        status=AccountStatus.PENDING,
        step=Step.DRAFT,
        attempts=1,
        first_attempt_at="2026-11-23T10:00:00+00:00",
        last_attempt_at="2026-11-23T10:00:00+00:00",
    )
    state = new_state("0b7c5e4e-2d1a-4e8e-9a3f-6c1d2e3f4a5b")
    state = state.with_post("a", PostState("posts/a.yaml", 1, accounts={"x": record}))
    state = state.with_post("b", PostState("posts/b.yaml", 1, accounts={"x": record, "y": pending}))
    return dump_state(state)


def test_a_state_checked_once_is_not_checked_again_until_its_bytes_change(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded: list[str] = []
    original = state_store._decode
    monkeypatch.setattr(
        state_store, "_decode", lambda text, source: decoded.append(text) or original(text, source)
    )
    text = _state_text()
    first = parse_state(text)
    second = parse_state(text)
    assert len(decoded) == 1
    assert second == first
    changed = text.replace('"revision": 1', '"revision": 2', 1)
    parse_state(changed)
    assert len(decoded) == 2


def test_an_invalid_state_is_never_remembered(cache_dir: Path) -> None:
    data = json.loads(_state_text())
    data["posts"]["a"]["accounts"]["x"]["status"] = "nonsense"
    text = json.dumps(data, indent=2)
    for _ in range(2):
        with pytest.raises(Exception, match="does not match its schema"):
            parse_state(text)


def test_posts_built_on_demand_read_like_posts_built_at_once(cache_dir: Path) -> None:
    text = _state_text()
    loaded = parse_state(text)
    assert loaded.post_ids_needing_work() == {"b"}
    assert [loaded.account_count(p) for p in ("a", "b", "missing")] == [1, 2, 0]
    data = json.loads(text)
    eager = State(
        lineage=data["lineage"],
        serial=data["serial"],
        commit=data["commit"],
        posts={k: PostState.from_json(v) for k, v in data["posts"].items()},
    )
    assert loaded == eager and eager == loaded
    assert repr(loaded) == repr(eager)
    assert dump_state(loaded) == text
    assert list(loaded.entries()) == list(eager.entries())
    # Asked again after the posts were built, and of the eager state: the same answers.
    assert loaded.post_ids_needing_work() == eager.post_ids_needing_work() == {"b"}
    assert [eager.account_count(p) for p in ("a", "b", "missing")] == [1, 2, 0]
    assert loaded.with_post("c", PostState("posts/c.yaml", 1)).posts.keys() == {"a", "b", "c"}
