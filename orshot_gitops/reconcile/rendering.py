"""A post's render, done once: synchronously for stills, as an Orshot render job for videos,
animated gifs and PDFs (orshot/render_jobs.py), whose job id is written to the state before
anything waits for it.

Why a job is written ahead (DESIGN.md: "Render outputs are recorded and re-used by every
later step and retry: nothing is rendered twice"): a video takes minutes and a render costs
credits. A run killed while the job runs leaves `Render(job=...)` with no output; the next
run reads that job instead of starting another. A start whose answer was lost leaves a
`Render` with neither, and a run killed in CI loses its record with its runner's disk: so
before it starts a job, a run looks for one started with the same tag (its `metadata`, the
same for the same post and render) and starts a new one only if Orshot lists none.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from orshot_gitops.crashpoints import crash_point
from orshot_gitops.orshot.client import ApiError, NotFound, RenderJob, UnknownOutcome
from orshot_gitops.orshot.render_jobs import ASYNC_FORMATS
from orshot_gitops.reconcile.failures import TRANSIENT, failed_fields
from orshot_gitops.reconcile.plan import Action
from orshot_gitops.reconcile.recorder import Recorder, Stop
from orshot_gitops.state.model import AccountStatus, PostState, Render, Step
from orshot_gitops.state.previews import Preview


def job_tag(post_id: str, render_fingerprint: str) -> str:
    """The `metadata` a job is started with: the same post and render, the same tag, so a
    job whose start answer was lost is recognised. Hashed: the post's path stays ours."""
    digest = hashlib.sha256(f"{post_id}\n{render_fingerprint}".encode()).hexdigest()
    return f"orshot-gitops:{digest[:32]}"


class Renders(Recorder):
    """The render step of `Applier`."""

    if TYPE_CHECKING:  # provided by Applier
        should_stop: Callable[[], bool]
        previews: Mapping[str, Preview]

    def _previewed(self, actions: Sequence[Action], render_fp: str) -> tuple[str, ...] | None:
        """The URLs a pull request's preview recorded for these very inputs, if any: the
        image that was reviewed is the one published, and no credit is spent on another.
        Kept as the post's render, so every later step and retry reuses it as its own."""
        preview = self.previews.get(render_fp)
        if preview is None:
            return None
        first = actions[0]
        self.progress(f"using the reviewed render preview of {first.post_id}")
        self._keep_render(first, Render(render_fp, preview.urls))
        return preview.urls

    def _render(self, actions: Sequence[Action], render_fp: str) -> tuple[str, ...] | None:
        """The render's outputs, rendering (or finishing the recorded job) if needed; None
        when it did not finish here (recorded for the next run)."""
        spec: Mapping[str, Any] = actions[0].render or {}
        if str(spec.get("format", "png")).lower() in ASYNC_FORMATS:
            return self._render_job(actions, render_fp)
        first = actions[0]
        self.progress(f"rendering {first.post_id} (template {spec['template']})")
        try:
            result = self.client.render(
                spec["template"], spec.get("modifications") or {}, spec.get("format", "png")
            )
        except ApiError as error:
            self._failed(actions, error, Step.RENDER)
            return None
        self._keep_render(actions[0], Render(render_fp, result.media_urls))
        return result.media_urls

    def _render_job(self, actions: Sequence[Action], render_fp: str) -> tuple[str, ...] | None:
        first = actions[0]
        spec: Mapping[str, Any] = first.render or {}
        tag = job_tag(first.post_id, render_fp)
        recorded = self._recorded_render(first, render_fp)
        job_id = recorded.job if recorded else None
        if job_id is None:
            # Looked for first, whatever the record says: a run killed in CI took its record
            # of the job with its disk, and a start whose answer was lost left none. The same
            # post and render started before carry the same tag; its output is the same.
            try:
                found = self.client.find_render_job(tag)
            except NotFound:
                found = None  # no list to look in: start again (credits, nothing posted)
            except ApiError as error:
                self._failed(actions, error, Step.RENDER)
                return None
            job_id = found.id if found else None
        if job_id is None:
            # Write-ahead: from here a job may exist, and the next run looks for it by tag.
            self._mark_rendering(actions, Render(render_fp, ()))
            self.progress(f"rendering {first.post_id} (template {spec['template']}, a job)")
            try:
                job = self.client.start_render_job(
                    spec["template"],
                    spec.get("modifications") or {},
                    str(spec.get("format", "png")).lower(),
                    tag=tag,
                )
            except ApiError as error:
                if not isinstance(error, UnknownOutcome) and not error.after_uncertain_attempt:
                    self._drop_render(first)  # refused: no job was started
                self._failed(actions, error, Step.RENDER)
                return None
            job_id = job.id
        self._mark_rendering(actions, Render(render_fp, (), job=job_id))
        crash_point("after-render-job")
        self.progress(f"waiting   for render job {job_id} of {first.post_id}")
        try:
            job = self.client.wait_for_render_job(job_id, on_poll=self._stop_waiting)
        except NotFound:
            # The job is gone (expired, or never kept): nothing to resume; start again later.
            self._drop_render(first)
            self._render_failed(actions, f"render job {job_id} is gone", TRANSIENT)
            return None
        except ApiError as error:
            self._failed(actions, error, Step.RENDER)
            return None
        return self._job_finished(actions, render_fp, job)

    def _stop_waiting(self, job: RenderJob) -> None:
        # A video takes minutes: a run asked to stop does not wait them out. The job stays
        # recorded, its accounts pending at the render step: the next run resumes it.
        if not job.finished and self.should_stop():
            raise Stop(f"the run was interrupted while render job {job.id} ran")

    def _job_finished(
        self, actions: Sequence[Action], render_fp: str, job: RenderJob
    ) -> tuple[str, ...] | None:
        first = actions[0]
        if not job.finished:
            # Still running at our deadline: the job stays recorded; a later run reads it.
            self._render_failed(
                actions, f"render job {job.id} is still {job.status or 'running'}", TRANSIENT
            )
            return None
        if job.result is None or not job.result.media_urls:
            # Whether the template or Orshot's renderer failed, the job does not say: tried
            # again after a backoff (a new job: a failed one is never reused), not left until
            # the post changes, which would keep an approved post from ever going out.
            self._drop_render(first)
            self._render_failed(
                actions, f"render job {job.id} failed: {job.error or 'no output'}", TRANSIENT
            )
            return None
        self._keep_render(first, Render(render_fp, job.result.media_urls, job=job.id))
        return job.result.media_urls

    # --- the record -----------------------------------------------------------------------

    def _recorded_render(self, action: Action, render_fp: str) -> Render | None:
        post = self.state.posts.get(action.post_id)
        if post is None or post.render is None or post.render.fingerprint != render_fp:
            return None
        return post.render

    def _keep_render(self, action: Action, render: Render | None) -> None:
        post = self.state.posts.get(action.post_id) or PostState(
            path=action.path, revision=action.revision
        )
        self.state = self.state.with_post(action.post_id, replace(post, render=render))
        self.save()

    def _drop_render(self, action: Action) -> None:
        if action.post_id in self.state.posts:
            self._keep_render(action, None)

    def _mark_rendering(self, actions: Sequence[Action], render: Render) -> None:
        """The render (its job, or that one may be starting) on disk, and each account
        pending at the render step: a run that dies now is resumed, not rendered again."""
        for action in actions:
            self._record(action, status=AccountStatus.PENDING, step=Step.RENDER, run=self.run_id)
        self._keep_render(actions[0], render)

    def _render_failed(self, actions: Sequence[Action], message: str, kind: str) -> None:
        for action in actions:
            record = self.state.account(action.post_id, action.account)
            attempts = max(record.attempts if record else 0, 1)
            self._record(
                action,
                status=AccountStatus.FAILED,
                step=Step.RENDER,
                error=message,
                **failed_fields(kind, attempts, self.now()),
            )
            self._outcome(action, "failed", error=message)
        self.save()
