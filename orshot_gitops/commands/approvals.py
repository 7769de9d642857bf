"""The shell between GitHub's reviews (github/reviews.py) and the approvals rules
(reconcile/approvals.py): what apply and the pull request's plan ask GitHub, turned into the
values the reconciler decides on. Not a subcommand (no NAME)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from orshot_gitops.content.model import CONFIG_FILE, Config
from orshot_gitops.errors import UserError
from orshot_gitops.github.api import GitHubContext
from orshot_gitops.github.reviews import GitHubError, GitHubReviews, PullReviews
from orshot_gitops.reconcile.approvals import (
    DirectPush,
    Evidence,
    Need,
    PullApprovals,
    RulesInForce,
    Source,
    Unknown,
    batch_inputs,
    change_commits,
    gated_paths,
    needs,
    rests_on,
    rules_in_force,
)
from orshot_gitops.reconcile.plan import Plan
from orshot_gitops.vcs.gitrepo import GitRepo


def _approvals(pull: PullReviews) -> PullApprovals:
    return PullApprovals(pull.number, pull.head_sha, pull.approvers)


class ApplyReviews:
    """apply's `ReviewLookup`: per commit, the merged pull request that brought it and who
    approved that pull request's head. A commit GitHub cannot answer for is Unknown: held."""

    def __init__(self, reviews: GitHubReviews, branch: str | None) -> None:
        self.reviews = reviews
        self.branch = branch

    def sources(self, commits: Sequence[str]) -> Mapping[str, Source]:
        found: dict[str, Source] = {}
        for commit in commits:
            try:
                pull = self.reviews.merged_pull(commit, self.branch)
            except GitHubError as error:
                found[commit] = Unknown(f"GitHub could not say ({error.message})")
                continue
            found[commit] = DirectPush(commit) if pull is None else _approvals(pull)
        return found

    def team_members(self, teams: Sequence[str]) -> Mapping[str, frozenset[str] | None]:
        return {team: self.reviews.team_members(team) for team in teams}


def in_actions(env: Mapping[str, str]) -> bool:
    """A GitHub Actions run that can ask GitHub: the runner's markers and a token."""
    context = GitHubContext.from_env(env)
    return env.get("GITHUB_ACTIONS") == "true" and bool(context.token and context.repository)


@contextlib.contextmanager
def apply_reviews(env: Mapping[str, str]) -> Iterator[ApplyReviews | None]:
    """apply's lookup in GitHub Actions; None anywhere else (a hook, GitLab, a laptop):
    then `approvals_without_github` decides. Made lazily: no rule, no GitHub call."""
    if not in_actions(env):
        yield None
        return
    context = GitHubContext.from_env(env)
    branch = context.ref.removeprefix("refs/heads/") if context.ref else None
    with GitHubReviews(context) as reviews:
        yield ApplyReviews(reviews, context.default_branch or branch)


@dataclass(frozen=True)
class PullRequestApprovals:
    """The pull request's plan: each rule that covers one of its sends, met or not."""

    needs: tuple[Need, ...]
    head_sha: str
    note: str = ""  # GitHub could not be asked: said in the comment

    @property
    def waiting(self) -> int:
        """How many posts still need an approval."""
        return len({n.post_id for n in self.needs if not n.met})


def pull_request_approvals(
    plan: Plan,
    git: GitRepo,
    config: Config | None,
    reconciled: str | None,
    context: GitHubContext,
    now: datetime,
) -> PullRequestApprovals | None:
    """None without rules (no GitHub call at all). Every send of the plan rests on this pull
    request: its head's approvals are what count."""
    number = context.pull_request_number
    if config is None or number is None:
        return None
    force = rules_in_force(git, config, reconciled, plan)
    if not force.rules:
        return None
    pr = context.pull_request or {}
    event_head = (pr.get("head") or {}).get("sha")
    head_sha = event_head if isinstance(event_head, str) and event_head else ""
    base_sha = (pr.get("base") or {}).get("sha")
    try:
        with GitHubReviews(context) as reviews:
            # Asked fresh: a review event's payload may predate a later push.
            pull = reviews.pull_reviews(number)
            head_sha = pull.head_sha or head_sha
            this: Source = _approvals(pull)
            teams = {t: reviews.team_members(t) for r in force.rules for t in r.teams}
            sources = _pull_sources(plan, git, config, force, this, base_sha, reviews, now)
        note = ""
    except GitHubError as error:
        unknown = Unknown(f"GitHub could not say ({error.message})")
        sources = {a.post_id: (unknown,) for a in plan.actions}
        teams = {}
        note = f"could not read the pull request's reviews: {error.message}"
    found = needs(plan, force.rules, Evidence(sources, teams), now)
    return PullRequestApprovals(found, head_sha, note)


def _pull_sources(
    plan: Plan,
    git: GitRepo,
    config: Config,
    force: RulesInForce,
    this: Source,
    base_sha: object,
    reviews: GitHubReviews,
    now: datetime,
) -> dict[str, tuple[Source, ...]]:
    """What each send of the pull request's plan rests on: this pull request for a post it
    changes (or for all, when it changes orshot.yaml or templates/); for a post it does not
    touch (one still held on the base branch), the pull requests that brought it there, as
    apply will judge it. Without the base commit (a shallow clone), this pull request."""
    paths = gated_paths(plan, force.rules, now)
    try:
        known = isinstance(base_sha, str) and bool(base_sha)
        base = git.merge_base(str(base_sha), "HEAD") if known else None
    except UserError:
        base = None  # not fetched
    if base is None:
        return {post_id: (this,) for post_id in paths}
    changed = git.paths_changed(base, "HEAD")
    shared = any(p == CONFIG_FILE or p.startswith(config.templates_dir + "/") for p in changed)
    inputs = batch_inputs(plan)  # a batch row changes with its data file too
    earlier = {
        post_id: path
        for post_id, path in paths.items()
        if path not in changed and not set(inputs.get(path, ())) & changed
    }
    commits = change_commits(git, config, earlier, base, inputs)
    lookup = ApplyReviews(reviews, reviews.context.default_branch)
    by_commit = lookup.sources(sorted({c for cs in commits.values() for c in cs if c}))
    before = rests_on(git, commits, by_commit)
    found: dict[str, tuple[Source, ...]] = {}
    for post_id in paths:
        if post_id not in earlier:
            found[post_id] = (this,)
            continue
        found[post_id] = before[post_id] + ((this,) if shared else ())
    return found
