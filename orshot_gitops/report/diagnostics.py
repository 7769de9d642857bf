"""Diagnostics as text (one line each), JSON (for scripts) or GitHub workflow commands (annotations)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from orshot_gitops.console import Console
from orshot_gitops.errors import Diagnostic, Severity


def as_text(diagnostics: Sequence[Diagnostic], files_checked: int, console: Console) -> str:
    lines = []
    for d in diagnostics:
        color = "red" if d.severity is Severity.ERROR else "yellow"
        text = d.format()
        label = f": {d.severity.value}:"
        lines.append(
            text.replace(label, ": " + console.style(d.severity.value, color, "bold") + ":", 1)
        )
    lines.append(summary(diagnostics, files_checked, console))
    return "\n".join(lines)


def summary(diagnostics: Sequence[Diagnostic], files_checked: int, console: Console) -> str:
    errors = sum(d.severity is Severity.ERROR for d in diagnostics)
    warnings = len(diagnostics) - errors
    checked = f"{files_checked} file{'s' if files_checked != 1 else ''} checked"
    if not diagnostics:
        return console.style(f"ok: {checked}, no problems", "green")
    parts = [f"{errors} error{'s' if errors != 1 else ''}"]
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    return console.style(f"{', '.join(parts)} in {checked}", "red" if errors else "yellow")


def as_json(diagnostics: Sequence[Diagnostic], files_checked: int) -> str:
    document = {
        "files_checked": files_checked,
        "errors": sum(d.severity is Severity.ERROR for d in diagnostics),
        "warnings": sum(d.severity is Severity.WARNING for d in diagnostics),
        "diagnostics": [d.as_dict() for d in diagnostics],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def as_github(diagnostics: Sequence[Diagnostic], files_checked: int, console: Console) -> str:
    """::error file=…,line=…,col=…,title=…::message — GitHub shows these on the pull request's files."""
    lines = []
    for d in diagnostics:
        props = [f"file={_escape_property(d.path)}"]
        if d.line:
            props += [f"line={d.line}", f"col={d.column or 1}"]
        props.append(f"title={_escape_property('orshot-gitops ' + d.code)}")
        message = d.message + (f" ({d.hint})" if d.hint else "")
        lines.append(f"::{d.severity.value} {','.join(props)}::{_escape_data(message)}")
    lines.append(summary(diagnostics, files_checked, Console(color=False)))
    return "\n".join(lines)
