"""No schema error speaks in jsonschema's words: each keyword the schemas use, broken once, in
a post and in orshot.yaml, gets a sentence that says what to write."""

from __future__ import annotations

from pathlib import Path

import pytest
from repo_fixtures import CONFIG, content_repo
from test_validate_corpus import NOW

from orshot_gitops.content.validate import validate_repo

# What jsonschema says in its own words: none of it may reach a writer.
RAW_SCHEMA_WORDING = (
    "non-unique",
    "should be non-empty",
    "less than the minimum",
    "is not valid under any of the given schemas",
    "does not match",
    "is a required property",
    "is not of type",
    "Additional properties",
    "is too short",
    "should not be valid under",
    "was expected",
    "array",
    "object",
)
# One post per schema keyword the schemas use, each breaking it.
KEYWORD_BREAKERS = {
    "uniqueItems": "accounts: [x, x]\ncontent: hi\n",
    "minLength": "accounts: [x]\ncontent: hi\ntimezone: ''\n",
    "minItems": "accounts: [x]\ncontent: hi\nmedia_urls: []\n",
    "minProperties": "accounts: [x]\ncontent: hi\nplatform_options: {x: {}}\n",
    "minimum": "accounts: [x]\ncontent: hi\nrender: {template: 0}\n",
    "anyOf": "accounts: [-3]\ncontent: hi\n",
    "pattern": "accounts: [x]\ncontent: hi\nmedia_url: ftp://a/x.png\n",
    "enum": "accounts: [x]\ncontent: hi\nrender: {template: 1, format: tga}\n",
    "type": "accounts: 3\ncontent: {a: 1}\nvars: [1]\ndraft: 1\nrevision: 1.5\n",
    "required": "content: hi\n",
    "additionalProperties": "accounts: [x]\ncontent: hi\nextra: 1\n",
    "not": "accounts: [x]\ncontent: hi\nmedia_url: https://a/x.png\nmedia_urls: [https://a/y.png]\n",
    "items": "accounts: [x]\ncontent: hi\nmedia_urls: [1]\n",
    "modifications": "accounts: [x]\ncontent: hi\nrender: {template: 1, modifications: {a: [1]}}\n",
}
CONFIG_BREAKERS = {
    "propertyNames": "accounts:\n  '123': {id: 1, platform: twitter}\n",
    "enum": "accounts:\n  x: {id: 1, platform: myspace}\n",
    "minimum": "accounts:\n  x: {id: 0, platform: twitter}\n",
    "minProperties": "accounts: {}\n",
    "minLength": "accounts:\n  x: {id: 1, platform: twitter}\nposts_dir: ''\n",
    "type": "accounts:\n  x: {id: '1', platform: twitter}\nprune: 2\n",
}


@pytest.mark.parametrize(
    ("post", "config"),
    [(text, CONFIG) for text in KEYWORD_BREAKERS.values()]
    + [("accounts: [x]\ncontent: hi\n", text) for text in CONFIG_BREAKERS.values()],
    ids=[f"post {k}" for k in KEYWORD_BREAKERS] + [f"config {k}" for k in CONFIG_BREAKERS],
)
def test_no_schema_keyword_speaks_in_jsonschema_words(
    tmp_path: Path, post: str, config: str
) -> None:
    content_repo(tmp_path, {"posts/p.yaml": post}, config)
    found = [d.format() for d in validate_repo(tmp_path, NOW).diagnostics]
    assert found
    raw = [line for line in found for words in RAW_SCHEMA_WORDING if words in line]
    assert raw == []
