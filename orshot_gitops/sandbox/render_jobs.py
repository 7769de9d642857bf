"""Asynchronous renders: `POST /v1/studio/render` with `response.mode: "async"` answers a job
at once; `GET /v1/studio/render-jobs/{id}` reports it and `GET /v1/studio/render-jobs` lists
the recent ones, newest first.

A job's output is the same as the synchronous render's (render.py), known from the start; the
job reports it only once `render_job_seconds` (the config) have passed on the sandbox's
clock. Jobs live as long as the server: a restarted sandbox has forgotten them (404), as a
real job may have expired. See docs/orshot-api-notes.md, "Render jobs".
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from dataclasses import dataclass

from orshot_gitops.sandbox.engine import Workspace
from orshot_gitops.sandbox.model import iso
from orshot_gitops.sandbox.render import render
from orshot_gitops.sandbox.validation import ApiError, as_int, require_object

MAX_METADATA = 1024
DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT = 25, 100


@dataclass(frozen=True)
class RenderJob:
    id: int
    started: float
    finishes: float
    output: Mapping[str, object]  # the synchronous render's `data`
    metadata: str | None
    error: str | None = None  # set: the job finishes failed, with no result

    def view(self, now: float) -> dict[str, object]:
        finished = now >= self.finishes
        failed = finished and self.error is not None
        return {
            "id": self.id,
            "status": ("failed" if failed else "completed") if finished else "processing",
            "finished": finished,
            "result": dict(self.output) if finished and not failed else None,
            "error": self.error if failed else None,
            "metadata": self.metadata,
            "created_at": iso(self.started),
            "finished_at": iso(self.finishes) if finished else None,
        }


_JOBS: weakref.WeakKeyDictionary[Workspace, dict[int, RenderJob]] = weakref.WeakKeyDictionary()


def _jobs(workspace: Workspace) -> dict[int, RenderJob]:
    return _JOBS.setdefault(workspace, {})


def is_async(body: object) -> bool:
    options = body.get("response") if isinstance(body, Mapping) else None
    return isinstance(options, Mapping) and options.get("mode") == "async"


def start(
    body: object, workspace: Workspace, now: float, request_json: str, started: float
) -> dict[str, object]:
    """Validate the render as the synchronous call does, and answer its job."""
    body = require_object(body)
    if "publish" in body:
        # Not shown for async renders in what we read: refused rather than guessed.
        raise ApiError(400, "publish cannot be combined with response.mode async")
    metadata = body.get("metadata")
    if metadata is not None and (not isinstance(metadata, str) or len(metadata) > MAX_METADATA):
        raise ApiError(400, f"metadata must be a string of at most {MAX_METADATA} characters")
    options = dict(require_object(body.get("response", {})))
    options.pop("mode")
    if options.get("type", "url") != "url":
        raise ApiError(400, "response.type must be url for an async render")
    plain = {k: v for k, v in body.items() if k not in ("metadata", "source")}
    output = render({**plain, "response": options}, workspace, now, request_json, started)
    data = output["data"]
    assert isinstance(data, Mapping)
    job = RenderJob(
        id=workspace.store.next_id("render_job"),
        started=now,
        finishes=now + workspace.config.render_job_seconds,
        output={k: v for k, v in data.items() if k != "responseTime"},
        metadata=metadata,
        error=workspace.config.render_job_error,
    )
    _jobs(workspace)[job.id] = job
    return job.view(now)


def get(job_id: str, workspace: Workspace, now: float) -> dict[str, object]:
    number = as_int(job_id)
    job = _jobs(workspace).get(number) if number is not None else None
    if job is None:
        raise ApiError(404, "Render job not found")
    return job.view(now)


def listed(limit: str | None, workspace: Workspace, now: float) -> dict[str, object]:
    count = DEFAULT_LIST_LIMIT if limit is None else as_int(limit)
    if count is None or not 1 <= count <= MAX_LIST_LIMIT:
        raise ApiError(400, f"limit must be between 1 and {MAX_LIST_LIMIT}")
    jobs = sorted(_jobs(workspace).values(), key=lambda j: j.id, reverse=True)[:count]
    return {"data": [job.view(now) for job in jobs]}
