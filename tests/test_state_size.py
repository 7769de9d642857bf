"""Records hold what they need, once (issue 18): the writer leaves out every field the
schema lets it leave out while the field holds what the reader assumes when it is absent.

What v1 still writes as null or 0 (`step`, `post_id`, `url`, `error`, `action`,
`scheduled_for`, `group`, `render`, `attempts`) the v1 schema requires: leaving those out is a
format change, for the next layout (docs/state-layout.md), so it is not done here."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

from orshot_gitops.state.model import AccountState, AccountStatus, PostState, State
from orshot_gitops.state.store import dump_state, parse_state

SCHEMA = json.loads(
    (Path(__file__).resolve().parent.parent / "schemas" / "state.schema.json").read_text()
)


def bare_record() -> AccountState:
    return AccountState(
        account_id=1, fingerprint="a" * 64, revision=1, status=AccountStatus.PUBLISHED
    )


def test_every_field_the_schema_makes_optional_is_left_out_at_its_default() -> None:
    account = SCHEMA["$defs"]["account"]
    optional = set(account["properties"]) - set(account["required"])
    assert optional, "the schema has optional account fields"
    state = State(lineage="12345678-1234-4234-8234-123456789abc").with_post(
        "launch", PostState(path="posts/launch.yaml", revision=1).with_account("x", bare_record())
    )
    written = json.loads(dump_state(state))["posts"]["launch"]["accounts"]["x"]
    assert not optional & set(written), sorted(optional & set(written))
    # ...and read back as the same value: absent means the dataclass default.
    assert parse_state(dump_state(state)).account("launch", "x") == bare_record()


def test_the_model_has_no_field_the_schema_does_not_know() -> None:
    """A new field must be in the schema, optional there, and left out when unset: a field
    written as null in every record is bytes in every record of every state."""
    account = SCHEMA["$defs"]["account"]
    assert {f.name for f in fields(AccountState)} == set(account["properties"])


def test_a_state_without_runs_writes_no_claim_tables() -> None:
    written = json.loads(dump_state(State(lineage="12345678-1234-4234-8234-123456789abc")))
    assert set(written) == set(SCHEMA["required"])
