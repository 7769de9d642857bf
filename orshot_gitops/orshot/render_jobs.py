"""Asynchronous renders: `POST /studio/render` with `response.mode: "async"` answers a job at
once; `GET /studio/render-jobs/{id}` reports it until it has finished.

Videos and long renders outlast a synchronous request's read timeout (and Orshot gives a
render up to 15 minutes), so they are rendered as jobs. What we follow, and what we assume
where Orshot's pages were not available, is in docs/orshot-api-notes.md ("Render jobs"): the
shapes come from Orshot's own Pipedream components (`start-async-render`, `get-render-job`,
`common/wait.mjs`): a job carries `id`, `status`, `finished`, and once finished `result` (the
render) or `error`; `metadata` is a caller's string echoed back on the job, which is how a job
whose start answer was lost is found again (`GET /studio/render-jobs`).

`RenderJobCalls` is a base of `OrshotClient`: its calls go through the client's `_call`, so
they are paced, retried and scrubbed like every other request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from orshot_gitops.orshot.models import Malformed, RenderResult, data_of, parse_render

T = TypeVar("T")

#: Formats rendered as a job: videos, an animated gif, and PDFs (a document of many pages).
ASYNC_FORMATS = frozenset({"mp4", "webm", "mov", "mkv", "gif", "pdf"})
#: Orshot's ceiling on one render (Pipedream's wait.mjs: "a 15 minute ceiling"), and a minute.
JOB_TIMEOUT = 16 * 60.0
_FINISHED_STATUSES = frozenset({"completed", "complete", "succeeded", "success", "done", "failed"})


@dataclass(frozen=True)
class RenderJob:
    """One asynchronous render. `result` once it finished well, `error` once it failed."""

    id: str
    status: str
    finished: bool
    result: RenderResult | None = None
    error: str | None = None
    metadata: str | None = None

    @property
    def failed(self) -> bool:
        return self.finished and self.result is None


def parse_render_job(body: Any) -> RenderJob:
    """A job, at the top level of the body (as Pipedream reads it) or under `data`/`job`."""
    if not isinstance(body, Mapping):
        raise Malformed(f"body is {type(body).__name__}, not an object")
    job: Any = body
    for key in ("data", "job"):
        inner = job.get(key) if isinstance(job, Mapping) else None
        if isinstance(inner, Mapping) and "id" in inner:
            job = inner
    return _job(job, "job")


def parse_render_jobs(body: Any) -> tuple[RenderJob, ...]:
    """`GET /studio/render-jobs`: `{"data": [job, ...]}` (or a bare list)."""
    items = data_of(body) if isinstance(body, Mapping) else body
    if isinstance(items, Mapping):
        items = items.get("jobs", items.get("items"))
    if not isinstance(items, list):
        raise Malformed("the render jobs are not a list")
    return tuple(_job(item, f"data[{i}]") for i, item in enumerate(items))


def _job(value: Any, where: str) -> RenderJob:
    if not isinstance(value, Mapping):
        raise Malformed(f"{where} is not an object")
    raw_id = value.get("id")
    if isinstance(raw_id, bool) or not isinstance(raw_id, (int, str)) or raw_id == "":
        raise Malformed(f"{where}.id is {raw_id!r}")
    status = value.get("status")
    status = status if isinstance(status, str) else ""
    finished = value.get("finished")
    done = bool(finished) if isinstance(finished, bool) else status.lower() in _FINISHED_STATUSES
    result = None
    raw = value.get("result")
    if done and isinstance(raw, Mapping):
        # The render's answer as the synchronous call gives it, whole or as its `data`.
        result = parse_render(raw if "data" in raw else {"data": raw})
    error = value.get("error")
    if isinstance(error, Mapping):
        error = error.get("message") or error.get("error")
    metadata = value.get("metadata")
    return RenderJob(
        id=str(raw_id),
        status=status,
        finished=done,
        result=result,
        error=str(error) if error else (None if result or not done else "the render failed"),
        metadata=metadata if isinstance(metadata, str) else None,
    )


class RenderJobCalls:
    """The render-job calls of `OrshotClient`."""

    if TYPE_CHECKING:
        _clock: Callable[[], float]
        _sleep: Callable[[float], None]

        def _call(
            self,
            parse: Callable[[Any], T],
            method: str,
            path: str,
            *,
            params: Mapping[str, str] | None = None,
            json: Any = None,
            create: bool = False,
            summary: str = "",
            retry_server_errors: bool | None = None,
        ) -> T: ...

    #: Seconds between two reads of a running job, doubling up to `render_poll_cap`: a
    #: video takes minutes, and every read counts toward the workspace's rate limit.
    render_poll_interval: float = 1.0
    render_poll_cap: float = 15.0
    #: How long one wait reads a job before it leaves it to a later run.
    render_job_timeout: float = JOB_TIMEOUT

    def start_render_job(
        self,
        template_id: int | str,
        modifications: Mapping[str, Any],
        format: str,
        *,
        tag: str,
    ) -> RenderJob:
        """Start a render as a job (`response.mode: "async"`); `tag` goes out as `metadata`,
        so the job can be found again if this answer is lost. A create: sent at most once."""
        body: dict[str, Any] = {
            "templateId": template_id,
            "modifications": dict(modifications),
            "response": {"type": "url", "format": format, "mode": "async"},
            "metadata": tag,
        }
        return self._call(
            parse_render_job,
            "POST",
            "/studio/render",
            json=body,
            create=True,
            summary=f"template={template_id} format={format} async",
        )

    def get_render_job(self, job_id: str) -> RenderJob:
        """One job, as it is now."""
        return self._call(parse_render_job, "GET", f"/studio/render-jobs/{_job_path(job_id)}")

    def find_render_job(self, tag: str, limit: int = 100) -> RenderJob | None:
        """The newest recent job started with `metadata` `tag` that did not fail, if Orshot
        lists one (a failed one is no output to reuse: the caller starts another)."""
        jobs = self._call(
            parse_render_jobs, "GET", "/studio/render-jobs", params={"limit": str(limit)}
        )
        return next((job for job in jobs if job.metadata == tag and not job.failed), None)

    def wait_for_render_job(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        on_poll: Callable[[RenderJob], None] | None = None,
    ) -> RenderJob:
        """Read the job until it has finished or `timeout` seconds passed; the last read."""
        deadline = self._clock() + (self.render_job_timeout if timeout is None else timeout)
        interval = self.render_poll_interval
        while True:
            job = self.get_render_job(job_id)
            if on_poll is not None:
                on_poll(job)
            if job.finished or self._clock() + interval > deadline:
                return job
            self._sleep(interval)
            interval = min(interval * 2, self.render_poll_cap)


def _job_path(job_id: str) -> str:
    text = str(job_id)
    if not text or not all(c.isalnum() or c in "-_" for c in text):
        raise ValueError(f"not a render job id: {text!r}")
    return text
