"""What `validate` and the plan check of recurring posts once their occurrences are compiled.

Orshot and the platforms refuse duplicate content ("Duplicate content ... Modify the caption
slightly", publish-from-api.md), so two occurrences of one series that would send the same
caption and media to one account would fail the second time, weeks after the merge. Said at
the `repeat:` line before anything is sent: an error without `variants` (every occurrence is
the same post), a warning with them (the rotation came round again: some platforms refuse a
repeat only within a window).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from orshot_gitops.content.compile import CompiledPost
from orshot_gitops.content.model import Config, PostSpec
from orshot_gitops.content.recurrence import expand_repeat, occurrence_of, rotation_sample
from orshot_gitops.errors import Diagnostic, Severity


def expand_all(
    specs: Iterable[PostSpec], config: Config, now: datetime
) -> tuple[list[PostSpec], list[PostSpec], list[Diagnostic]]:
    """Each post, or its occurrences when it repeats, in order; and the rotation sample of
    each series (recurrence.rotation_sample), to compile for repeated_captions only."""
    expanded: list[PostSpec] = []
    samples: list[PostSpec] = []
    problems: list[Diagnostic] = []
    for spec in specs:
        if occurrence_of(spec.id) is not None:
            problems.append(_at_in_name(spec))
            continue
        posts, found = expand_repeat(spec, config, now)
        expanded.extend(posts)
        problems.extend(found)
        if spec.repeat is not None and not any(p.severity is Severity.ERROR for p in found):
            samples.extend(rotation_sample(spec, config))
    return expanded, samples, problems


def repeated_captions(compiled: Iterable[CompiledPost]) -> list[Diagnostic]:
    """One problem per series and account whose occurrences repeat a caption and media: the
    first two dates that do, at the series' `repeat:` line."""
    first_seen: dict[tuple[str, str, str], str] = {}
    reported: set[tuple[str, str]] = set()
    problems: list[Diagnostic] = []
    for post in compiled:
        occurrence = post.spec.occurrence
        if occurrence is None:
            continue
        render = json.dumps(post.render.as_json(), sort_keys=True) if post.render else ""
        for payload in post.payloads:
            alias = payload.account.alias
            sent = json.dumps([payload.content, list(payload.media_urls), render])
            earlier = first_seen.setdefault((occurrence.series, alias, sent), occurrence.date)
            if earlier == occurrence.date or (occurrence.series, alias) in reported:
                continue
            reported.add((occurrence.series, alias))
            problems.append(_repeated(post.spec, alias, earlier, occurrence.date))
    return problems


def _repeated(spec: PostSpec, alias: str, earlier: str, later: str) -> Diagnostic:
    assert spec.occurrence is not None
    line, column = spec.document.position(("repeat",), key=True) if spec.document else (1, 1)
    rotated = spec.occurrence.variants > 0
    message = (
        f"occurrences {earlier} and {later} send the same caption and media to {alias!r}: "
        "Orshot refuses duplicate content"
    )
    hint = (
        "add more variants, or make each caption differ, e.g. 'Tip #{{ occurrence.number }}'"
        if rotated
        else "add 'variants:' to rotate captions, or use {{ occurrence.date }} or "
        "{{ occurrence.number }} in the caption"
    )
    severity = Severity.WARNING if rotated else Severity.ERROR
    return Diagnostic(spec.path, line, column, severity, "repeat-duplicate", message, hint)


def _at_in_name(spec: PostSpec) -> Diagnostic:
    """`posts/tips@2027-01-12.yaml` would be the same post id as that occurrence of
    `posts/tips.yaml`: one id, two posts, and the plan could not tell which was sent."""
    return Diagnostic(
        spec.path,
        1,
        1,
        Severity.ERROR,
        "post-id-at",
        f"post id {spec.id!r} is the id of an occurrence of a recurring post (<file id>@<date>)",
        "rename the file: a name ending in @YYYY-MM-DD is kept for occurrences",
    )
