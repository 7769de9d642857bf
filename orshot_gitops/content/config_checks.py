"""What orshot.yaml can get wrong beyond its schema, each reported once, at its own line.

A default timezone that does not exist used to surface at every post that leans on it (13
errors at each post's 1:1 for one typo); an account id under two platforms makes the caption
limits, media rules and options of one of them a guess.
"""

from __future__ import annotations

import re

from orshot_gitops.content.compile import valid_timezone
from orshot_gitops.content.model import CONFIG_FILE, Config
from orshot_gitops.content.suggest import timezone_hint
from orshot_gitops.content.yamlload import JsonPath
from orshot_gitops.errors import Diagnostic, Severity

# An environment variable's name, and one of ours: a pull request that could name any variable
# would have its apply send the GitHub token (or a cloud key) to Orshot as the bearer key.
_KEY_ENV = re.compile(r"ORSHOT_API_KEY[A-Z0-9_]*")


def config_problems(config: Config) -> list[Diagnostic]:
    problems = []
    if not _KEY_ENV.fullmatch(config.api_key_env):
        problems.append(
            _at(
                config,
                ("api_key_env",),
                "api-key-env",
                # Never the value: a key pasted here instead of its variable's name would
                # be printed in CI's log.
                "api_key_env is not the name of a variable starting with ORSHOT_API_KEY",
                "name the environment variable that holds this root's key, in capitals, "
                "digits and '_', e.g. ORSHOT_API_KEY_ZEN",
            )
        )
    if not valid_timezone(config.timezone):
        problems.append(
            _at(
                config,
                ("timezone",),
                "timezone",
                f"unknown timezone {config.timezone!r}",
                timezone_hint(config.timezone),
            )
        )
    first_alias: dict[int, str] = {}
    for alias, account in sorted(config.accounts.items()):
        other = first_alias.setdefault(account.id, alias)
        if other == alias:
            continue
        other_platform = config.accounts[other].platform
        if other_platform == account.platform:
            continue  # two names for one account: the same rules either way
        problems.append(
            _at(
                config,
                ("accounts", alias, "id"),
                "account-id-twice",
                f"account id {account.id} is '{other}' on {other_platform} and '{alias}' on "
                f"{account.platform}: one Orshot account has one platform",
                "check the ids with 'orshot-gitops accounts --format yaml' and fix one of them",
            )
        )
    return problems


def _at(config: Config, json_path: JsonPath, code: str, message: str, hint: str) -> Diagnostic:
    line, column = config.document.position(json_path) if config.document else (1, 1)
    return Diagnostic(CONFIG_FILE, line, column, Severity.ERROR, code, message, hint)
