"""The occurrences of recurring posts, as the plan sees them (content/recurrence.py makes
them): which are present beyond what this run's expansion made, which records were lost.

A recurring file stands for many posts whose ids are `<file id>@<date>`, and the clock, not a
commit, brings new ones; so a new occurrence is not judged by the file at the recorded commit
(batchplan.rows_new_since, for rows) but by the dates its series' records reach. A move of
the file moves its occurrences as it moves a batch's rows (batchplan.row_renames).
"""

from __future__ import annotations

from datetime import datetime

from orshot_gitops.content.compile import CompiledPost
from orshot_gitops.content.model import Config
from orshot_gitops.content.recurrence import beyond_horizon, horizon_of, occurrence_of
from orshot_gitops.state.model import State


def occurrence_ids(
    compiled: list[CompiledPost],
    state: State,
    ids: dict[str, str],
    failed_paths: set[str],
    config: Config,
    now: datetime,
) -> dict[str, str]:
    """The occurrences present in the repository (post id -> path): each compiled one, and
    each recorded one whose series file is still there and that this expansion could not
    judge: the file has an error (nothing of it is decided, as for any post file with one),
    or its date may lie past the horizon. A recorded occurrence of a series that compiled
    and no longer has it (a skip, `until` moved, the schedule changed) is absent: it is
    handled as a deleted post is."""
    present = {p.spec.id: p.spec.path for p in compiled if p.spec.occurrence is not None}
    for post_id in state.posts:
        parts = occurrence_of(post_id)
        if parts is None or post_id in present or parts[0] not in ids:
            continue
        series, day = parts
        path = ids[series]
        if path in failed_paths or _past_horizon(state, post_id, day, config, now):
            present[post_id] = path
    return present


def lost_occurrences(
    occurrences: dict[str, str], state: State, renames: dict[str, str], edited: set[str]
) -> frozenset[str]:
    """Occurrences the state should know and does not: of a file unchanged since the
    recorded commit, dated before one the state records. That later one was created by a
    run whose horizon held this date too, so this one was created then as well and its
    record is what is missing (a hand edit, a bad merge): sending it would be a duplicate."""
    latest: dict[str, str] = {}
    for post_id in state.posts:
        parts = occurrence_of(post_id)
        if parts is not None and parts[1] > latest.get(parts[0], ""):
            latest[parts[0]] = parts[1]
    lost = set()
    for post_id, path in occurrences.items():
        if path in edited or post_id in state.posts or renames.get(post_id) in state.posts:
            continue
        series, day = occurrence_of(post_id) or ("", "")
        if day < latest.get(series, ""):
            lost.add(post_id)
    return frozenset(lost)


def _past_horizon(state: State, post_id: str, day: str, config: Config, now: datetime) -> bool:
    """Whether a recorded occurrence lies past `now + horizon`, where this expansion did not
    look: by its date, and for the last day or two before the end by the time its record
    says it was scheduled for (read only for those)."""
    if not beyond_horizon(day, config, now):
        return False
    end = now + horizon_of(config)
    times = [record.scheduled_for for record in state.posts[post_id].accounts.values()]
    if not times or None in times:
        return True  # no time to go by: kept, as the date alone says it may be
    try:
        return any(datetime.fromisoformat(str(t)) > end for t in times)
    except ValueError:
        return True
