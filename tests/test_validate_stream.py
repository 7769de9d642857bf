"""validate streams a large repository through its workers and reports what it always did.

With keep_posts=False (the commands) files are loaded and compiled a batch at a time and
the workers send back only problems; the state is read after them, only for schedules that
have passed. Every problem must still be found, once, in order: duplicates that straddle a
batch or a worker's share, past schedules the state does or does not record.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from repo_fixtures import content_repo

from orshot_gitops.content import validate
from orshot_gitops.content.validate import validate_repo

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def _large_repo(root: Path, count: int) -> Path:
    posts = {
        f"posts/p{n:04d}.yaml": f"accounts: [x, li]\ncontent: 'post {n} of {{{{ product }}}}'\n"
        for n in range(count)
    }
    for n in range(0, count, 97):
        posts[f"posts/p{n:04d}.yaml"] = f"accounts: [nobody]\ncontent: 'post {n}'\n"
    # The same post id twice, right where a batch ends and where the workers' shares meet.
    for n in (validate.BATCH_FILES - 1, count // 2 - 1, count // 2):
        posts[f"posts/p{n:04d}.yml"] = "accounts: [x]\ncontent: twin\n"
    for n in (10, 700):
        posts[f"posts/p{n:04d}.yaml"] = "accounts: [x]\ncontent: hi\nschedule: 2026-01-01T10:00\n"
    content_repo(root, posts)
    (root / ".orshot").mkdir()
    state = {"version": 1, "posts": {"p0010": {"path": "posts/p0010.yaml", "accounts": {}}}}
    (root / ".orshot/state.json").write_text(json.dumps(state), encoding="utf-8")
    return root


def test_streaming_finds_every_problem_the_kept_posts_run_finds(tmp_path: Path) -> None:
    count = validate.PARALLEL_MIN_FILES + 200  # enough for the workers
    root = _large_repo(tmp_path, count)
    streamed = validate_repo(root, NOW, keep_posts=False)
    kept = validate_repo(root, NOW)
    assert streamed.diagnostics == kept.diagnostics
    assert streamed.posts == () and len(kept.posts) > count * 9 // 10
    lines = [d.format() for d in streamed.diagnostics]
    twins = [line for line in lines if "is also used by" in line]
    assert [line.split(":")[0] for line in twins] == [
        f"posts/p{n:04d}.yml" for n in (validate.BATCH_FILES - 1, count // 2 - 1, count // 2)
    ]
    past = [line for line in lines if "has passed" in line]
    assert [line.split(":")[0] for line in past] == ["posts/p0700.yaml"]  # p0010 went out
    unknown = [line for line in lines if "unknown account 'nobody'" in line]
    assert len(unknown) == len(range(0, count, 97))
    assert streamed.files_checked == kept.files_checked == count + 3 + 1


def test_batches_and_shares_keep_files_of_one_post_id_together() -> None:
    relatives = [f"posts/p{n:04d}.yaml" for n in range(1000)]
    relatives += ["posts/p0199.yml", "posts/p0499.yml"]
    relatives.sort()
    for runs in (
        validate._batches(relatives, "posts", 200),
        validate._split(relatives, "posts", 2),
        validate._split(relatives, "posts", 3),
    ):
        assert [r for run in runs for r in run] == relatives
        ids = [{r.rsplit(".", 1)[0] for r in run} for run in runs]
        assert all(not a & b for i, a in enumerate(ids) for b in ids[i + 1 :])
    assert len(validate._split(relatives, "posts", 3)) == 3
    # Cut at every 200 files in all, one later where a post id spans the cut.
    assert [len(run) for run in validate._batches(relatives, "posts", 200)] == [
        201,
        199,
        200,
        200,
        200,
        2,
    ]
