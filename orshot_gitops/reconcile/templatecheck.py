"""Each `render.modifications` key checked against its template's parameters, as Orshot lists
them (orshot/templates.py): a misspelt key is otherwise rendered without complaint, and the
image goes out with the template's placeholder where the price should be.

Network, so not in `content/` (pure): `validate` runs it when ORSHOT_API_KEY is set, asking
once per template id in a run. Without a key, or when Orshot cannot be asked, it is skipped
with a note: a fork's pull request has no key, and must still get a full review.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable

from orshot_gitops.content.compile import CompiledPost
from orshot_gitops.errors import Diagnostic, Severity
from orshot_gitops.orshot.client import ApiError, NotFound

#: `page2@title`: a parameter of one page of a multi-page template (post.schema.json).
_PAGE = re.compile(r"^page\d+@")


class TemplateParameters:
    """Each template's parameter ids, asked of Orshot once per template id; None for a
    template Orshot does not know. An answer that is neither raises the client's error."""

    def __init__(self, fetch: Callable[[int], tuple[str, ...]]) -> None:
        self._fetch = fetch
        self._known: dict[int, tuple[str, ...] | None] = {}

    def of(self, template_id: int) -> tuple[str, ...] | None:
        if template_id not in self._known:
            try:
                self._known[template_id] = self._fetch(template_id)
            except NotFound:
                self._known[template_id] = None
        return self._known[template_id]


def check_modifications(
    posts: Iterable[CompiledPost], parameters: TemplateParameters
) -> tuple[list[Diagnostic], str]:
    """The problems (each at its key's line and column) and a note ("" when all were
    checked). Stops asking at the first error Orshot gives, with the note saying why."""
    problems: list[Diagnostic] = []
    for post in sorted(posts, key=lambda p: p.spec.path):
        spec = post.spec
        if spec.render is None:
            continue
        template = spec.render.template
        try:
            known = parameters.of(template)
        except ApiError as error:
            return problems, f"template parameters not checked: {error.message}"
        if known is None:
            problems.append(
                _at(
                    post,
                    ("render", "template"),
                    False,
                    "unknown-template",
                    f"template {template} is not in this Orshot workspace",
                    "check render.template against the template's page in Orshot Studio",
                )
            )
            continue
        names = sorted({_PAGE.sub("", name) for name in known})
        for key in spec.render.modifications:
            name = _PAGE.sub("", key)
            if name in names:
                continue
            page = key[: len(key) - len(name)]  # "page2@", kept in the suggestion
            close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
            guess = f'; did you mean "{page}{close[0]}"?' if close else ""
            problems.append(
                _at(
                    post,
                    ("render", "modifications", key),
                    True,
                    "unknown-modification",
                    f'unknown modification "{key}" for template {template}{guess}',
                    f"template {template} takes: {', '.join(names) or 'no parameters'}",
                )
            )
    return problems, ""


def _at(
    post: CompiledPost,
    json_path: tuple[str, ...],
    key: bool,
    code: str,
    message: str,
    hint: str,
) -> Diagnostic:
    document = post.spec.document
    line, column = document.position(json_path, key=key) if document is not None else (1, 1)
    return Diagnostic(post.spec.path, line, column, Severity.ERROR, code, message, hint)
