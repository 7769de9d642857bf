"""`validate` with ORSHOT_API_KEY checks each `render.modifications` key against the template's
parameters (`GET /v1/studio/template/modifications?templateId=N`), at the key's line and
column, with a "did you mean"; without a key it skips the check with a note, never fails."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from reconcile_helpers import API_KEY, Workspace, post_yaml

from orshot_gitops.orshot.models import Malformed
from orshot_gitops.orshot.templates import parse_template_parameters
from orshot_gitops.sandbox import SandboxServer

LOOKUP = "GET /v1/studio/template/modifications"


def _sale(modifications: str, template: int = 123) -> str:
    return (
        "accounts: [x]\n"
        "content: Winter sale.\n"
        "render:\n"
        f"  template: {template}\n"
        "  modifications:\n"
        f"{modifications}"
        "  format: png\n"
    )


def test_a_misspelt_modification_is_an_error_at_its_key_with_a_suggestion(ws: Workspace) -> None:
    ws.post("2026/sale", _sale('    title: "Sale"\n    pirce: "€35"\n'))
    run = ws.cli("validate")
    assert run.code == 1
    assert (
        'posts/2026/sale.yaml:7:5: error: unknown modification "pirce" for template 123; '
        'did you mean "price"? (template 123 takes: image, price, subtitle, title)'
    ) in run.out
    assert API_KEY not in run.output
    assert ws.calls(LOOKUP) == 1


def test_a_page_key_keeps_its_page_in_the_suggestion(ws: Workspace) -> None:
    ws.post("2026/carousel", _sale('    page2@slideTitel: "Two"\n', template=456))
    run = ws.cli("validate")
    assert run.code == 1
    assert (
        'posts/2026/carousel.yaml:6:5: error: unknown modification "page2@slideTitel" for '
        'template 456; did you mean "page2@slideTitle"?'
    ) in run.out


def test_known_keys_pass_and_each_template_is_asked_once(ws: Workspace) -> None:
    ws.post("2026/a", _sale('    title: "A"\n    page1@subtitle: "b"\n'))
    ws.post("2026/b", _sale('    price: "€35"\n'))
    ws.post("2026/c", _sale('    slideTitle: "c"\n', template=456))
    ws.post("2026/d", post_yaml("No render."))
    run = ws.cli("validate")
    assert run.code == 0, run.output
    assert ws.calls(LOOKUP) == 2


def test_a_key_far_from_every_parameter_gets_no_guess(ws: Workspace) -> None:
    ws.post("2026/sale", _sale('    zzzz: "x"\n'))
    run = ws.cli("validate")
    assert run.code == 1
    assert 'unknown modification "zzzz" for template 123 (template 123 takes:' in run.out


def test_an_unknown_template_is_an_error_at_the_template(ws: Workspace) -> None:
    ws.post("2026/sale", _sale('    title: "x"\n', template=999))
    run = ws.cli("validate")
    assert run.code == 1
    assert (
        "posts/2026/sale.yaml:4:13: error: template 999 is not in this Orshot workspace" in run.out
    )


def test_without_a_key_the_check_is_skipped_with_a_note(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws.post("2026/sale", _sale('    pirce: "€35"\n'))
    monkeypatch.delenv("ORSHOT_API_KEY")
    run = ws.cli("validate")
    assert run.code == 0, run.output
    assert "not checked against templates (no ORSHOT_API_KEY)" in run.err
    ws.use(ws.sandbox)
    assert ws.calls(LOOKUP) == 0


def test_without_a_key_and_without_render_posts_there_is_no_note(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A newcomer's first `validate` has nothing a key would check: no note to puzzle over."""
    ws.post("2026/plain", post_yaml("Just words."))
    monkeypatch.delenv("ORSHOT_API_KEY")
    run = ws.cli("validate")
    assert run.code == 0, run.output
    assert "not checked" not in run.err


def test_when_orshot_cannot_be_asked_the_check_is_skipped_with_a_note(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws.post("2026/sale", _sale('    pirce: "€35"\n'))
    monkeypatch.setenv("ORSHOT_API_KEY", "sk_wrong_key_for_this_sandbox")
    run = ws.cli("validate")
    assert run.code == 0, run.output
    assert "note: template parameters not checked:" in run.err
    assert "sk_wrong_key_for_this_sandbox" not in run.output


def test_the_sandbox_lists_a_templates_parameters(
    sandbox: SandboxServer, sandbox_client: Callable[..., httpx.Client]
) -> None:
    client = sandbox_client(sandbox)
    answer = client.get("/v1/studio/template/modifications", params={"templateId": "123"})
    assert answer.status_code == 200
    assert parse_template_parameters(answer.json()) == ("title", "subtitle", "image", "price")
    assert [set(item) for item in answer.json()["data"]] == [{"id", "example", "type"}] * 4
    missing = client.get("/v1/studio/template/modifications", params={"templateId": "999"})
    assert (missing.status_code, missing.json()["error"]) == (403, "Template not found")


def test_the_answer_is_read_bare_or_under_data() -> None:
    bare = [{"id": "title", "example": "x"}, {"id": "price"}, {"id": "title"}]
    assert parse_template_parameters(bare) == ("title", "price")
    assert parse_template_parameters({"data": bare}) == ("title", "price")
    with pytest.raises(Malformed):
        parse_template_parameters({"data": [{"example": "no id"}]})
