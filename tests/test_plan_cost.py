"""What a warm `plan` does not pay for (issue 19): twitter-text's import, once every caption it
would measure was measured by an earlier run and kept in the cache; and, valid posts and no
key given, the imports of jsonschema, httpx and gitpython, cold or warm.

Each plan runs in a child process, as a user runs it, on a repository made by the benchmarks'
own generator (bench/make_corpus.py): posts to X among others, a state recording them, then a
commit of edited posts for the plan to find.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from orshot_gitops.content import platforms, schemas
from orshot_gitops.content.cache import DiskCache
from orshot_gitops.content.compile import CaptionLengths

ROOT = Path(__file__).resolve().parent.parent

# A child that runs `plan` and then says which of these modules it imported.
_CHILD = """
import json, sys
from orshot_gitops.cli import main
code = main(["plan", "--format", "json", "--repo", sys.argv[1]])
watched = ("twitter_text", "jsonschema", "httpx", "git")
print(json.dumps({"code": code, "imported": [m for m in watched if m in sys.modules]}),
      file=open(sys.argv[2], "w"))
"""


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("corpus") / "repo"
    generate = [sys.executable, str(ROOT / "bench" / "make_corpus.py"), "--posts", "60"]
    subprocess.run(
        [*generate, "--out", str(out), "--state", "--changed", "12"],
        check=True,
        capture_output=True,
    )
    return out


def _plan(repo: Path, cache: Path, report: Path) -> tuple[dict[str, object], str]:
    env = {**os.environ, "ORSHOT_CACHE_DIR": str(cache)}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(repo), str(report)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(report.read_text()), done.stdout


# Where a package jsonschema checks URIs with is installed, its checker is asked, as it must be.
JSONSCHEMA = ["jsonschema"] if schemas._uri_checked() else []


def test_a_warm_plan_does_not_import_twitter_text(corpus: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cold, cold_plan = _plan(corpus, cache, tmp_path / "cold.json")
    # The changed posts include X captions: the first run measures them with twitter-text.
    assert cold == {"code": 0, "imported": ["twitter_text", *JSONSCHEMA]}
    assert any(a["platform"] == "twitter" for a in json.loads(cold_plan)["actions"])
    warm, warm_plan = _plan(corpus, cache, tmp_path / "warm.json")
    assert warm == {"code": 0, "imported": JSONSCHEMA}
    # ...and plans exactly what the first run planned, caption lengths included.
    assert json.loads(warm_plan)["actions"] == json.loads(cold_plan)["actions"]


def test_without_a_cache_every_run_measures_again(corpus: Path, tmp_path: Path) -> None:
    for name in ("first", "second"):
        report, _ = _plan(corpus, Path("off"), tmp_path / f"{name}.json")
        assert report == {"code": 0, "imported": ["twitter_text", *JSONSCHEMA]}


CAPTIONS = [
    "plain ascii https://example.com/a and more",
    "emoji 👩🏽‍🚀 and a flag 🇵🇹 count two each",
    "CJK 日本語のテキスト weighs two a character",
    "e\u0301 composed by NFC, then counted",
    "line\r\nends\rnormalized",
]


def test_a_stored_length_is_the_length_measured(tmp_path: Path) -> None:
    first = CaptionLengths(DiskCache(tmp_path / "c"))
    measured = [first.of("twitter", text) for text in CAPTIONS]
    assert measured == [platforms.caption_length("twitter", text) for text in CAPTIONS]
    first._cache.flush()  # type: ignore[union-attr]
    second = CaptionLengths(DiskCache(tmp_path / "c"))
    assert [second.of("twitter", text) for text in CAPTIONS] == measured
    # Other platforms count characters: nothing stored for them.
    assert second.of("linkedin", CAPTIONS[1]) == len(CAPTIONS[1])


def test_the_key_follows_twitter_texts_version(tmp_path: Path) -> None:
    """Another twitter-text version must not find this one's lengths."""
    site = tmp_path / "site"
    (site / "twitter_text_parser-3.0.0.dist-info").mkdir(parents=True)
    (site / "jinja2-3.1.6.dist-info").mkdir()
    assert platforms.version_beside(str(site), "twitter_text_parser") == "3.0.0"
    (site / "twitter_text_parser-3.0.0.dist-info").rename(
        site / "twitter_text_parser-3.1.0.dist-info"
    )
    assert platforms.version_beside(str(site), "twitter_text_parser") == "3.1.0"
    # Two versions side by side (a broken install): which one runs is unknown, so no key.
    (site / "twitter_text_parser-3.0.0.dist-info").mkdir()
    assert platforms.version_beside(str(site), "twitter_text_parser") is None
    assert platforms.fingerprint_for("3.0.0", b"code") != platforms.fingerprint_for(
        "3.1.0", b"code"
    )
    assert platforms.fingerprint_for("3.0.0", b"code") != platforms.fingerprint_for(
        "3.0.0", b"c0de"
    )
    # The installed one, found without importing it, is the one importlib.metadata reports.
    from importlib import metadata

    assert platforms._installed_version("twitter_text_parser", "twitter_text") == metadata.version(
        "twitter-text-parser"
    )


def test_the_format_check_answers_as_jsonschema_without_importing_it() -> None:
    import importlib.util

    from jsonschema import FormatChecker

    checker = FormatChecker()
    installed = any(importlib.util.find_spec(m) is not None for m in schemas.URI_CHECKERS)
    # jsonschema checks "uri" exactly when one of the packages we look for is installed.
    assert ("uri" in checker.checkers) == installed
    values = ["https://cdn.acme.com/a.png", "https://exa mple.com/%zz", "not a uri", "", 5, None]
    for value in values:
        for name in ("uri", "date-time", "date", "email", "no-such-format"):
            assert schemas.format_conforms(value, name) == checker.conforms(value, name)
