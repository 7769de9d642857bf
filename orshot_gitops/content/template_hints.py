"""The hint under an undefined variable: the name most likely meant, or why a defined one is
not seen (a macro of a template imported without `with context`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from orshot_gitops.content.suggest import did_you_mean
from orshot_gitops.content.templating import TemplateProblem

_UNDEFINED = re.compile(r"undefined variable '([^']+)'")
# `{% import 'x.j2' as x %}` or `{% from 'x.j2' import y %}` with no `with context` before `%}`.
_IMPORT = re.compile(r"{%-?\s*(?:import|from)\s[^%]*?-?%}", re.DOTALL)
_WITH_CONTEXT = re.compile(r"\bwith\s+context\b")

DEFINE_HINT = "define it in this post's 'vars' or in orshot.yaml 'vars'"


def undefined_hint(problem: TemplateProblem, source: str, variables: Mapping[str, Any]) -> str:
    found = _UNDEFINED.search(problem.message)
    if found is None:
        return DEFINE_HINT
    name = found.group(1)
    if name in variables and problem.template_name is not None:
        imports = [m.group(0) for m in _IMPORT.finditer(source)]
        if any(not _WITH_CONTEXT.search(statement) for statement in imports):
            # Jinja imports a template without the caller's variables unless told: its
            # macros see orshot.yaml's and the post's vars only `with context`.
            return (
                f"{name!r} is defined, but a macro from a template imported without "
                "'with context' cannot see the post's vars: write "
                "{% import '...' as ... with context %} (or {% from '...' import ... with context %})"
            )
    return did_you_mean(name, variables) + DEFINE_HINT
