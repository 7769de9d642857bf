"""Where each platform folds a caption behind "…more" (`platforms.CAPTION_FOLD`): marked in
the caption as the review and `plan --show-content` show it, with a note saying the mark is
not part of the caption."""

from __future__ import annotations

from collections.abc import Iterable

from orshot_gitops.content import platforms

MARK = "┆…more"


def folds(caption: str, platform_names: Iterable[str]) -> list[tuple[int, str]]:
    """(characters before the fold, platform) for each platform that folds this caption,
    nearest first. A caption no longer than a platform's fold is shown whole there."""
    found = set()
    for name in platform_names:
        fold = platforms.caption_fold(name)
        if fold is not None and len(caption) > fold:
            found.add((fold, name))
    return sorted(found)


def _label(name: str) -> str:
    rules = platforms.RULES.get(name)
    return rules.label if rules else name


def marked(caption: str, platform_names: Iterable[str]) -> str:
    """The caption with a mark where each platform folds it (several platforms, several marks;
    one platform alone needs no name on its mark)."""
    found = folds(caption, platform_names)
    named = len({name for _, name in found}) > 1
    out, last = [], 0
    for at, name in found:
        out.append(caption[last:at])
        out.append(f"{MARK} ({_label(name)})" if named else MARK)
        last = at
    out.append(caption[last:])
    return "".join(out)


def note(caption: str, platform_names: Iterable[str]) -> str:
    """One line: where the marks are and that they are not part of the caption, or ""."""
    found = folds(caption, platform_names)
    if not found:
        return ""
    where = ", ".join(f"{_label(name)} after {at} characters" for at, name in found)
    return (
        f'{MARK} marks where the platform shows "…more" ({where}); '
        "the mark is not part of the caption"
    )
