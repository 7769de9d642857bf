"""Whether the `approvals:` rules are met for what a plan would send, and holding what is not.

Pure where it decides: values in (the plan, the rules, what GitHub said, the clock), values
out (each unmet need, the plan with those sends held). What GitHub said is gathered by the
shell (commands/, through github/reviews.py) and passed down as `Evidence`.

What an approval covers: the approving review of a pull request counts only for the commit
it was given on (GitHub's `commit_id`), and only when that is the pull request's head, the
code that was merged. An approval given before a later push is stale, as with GitHub's
"dismiss stale approvals": it approved text that is not what goes out.

Which pull request a post's send needs: the one that brought the newest commit touching the
post's file and the one that brought the newest commit touching the shared inputs
(orshot.yaml, templates/), since that change also changed what this post sends, unless the
first pull request's head already contained it. A later commit that touches the post
through an approved pull request covers it.

A held send is never lost: like a reconnect hold, `Kind.AWAITING_APPROVAL` keeps the
reconciled commit where it is (`Plan.holds_back`), so the next run, even without a new
commit, plans the post again and asks GitHub again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from orshot_gitops.content import platforms
from orshot_gitops.content.approvals import (
    EVERY_ACCOUNT,
    ApprovalRule,
    rules_from_data,
)
from orshot_gitops.content.model import CONFIG_FILE, Config
from orshot_gitops.content.yamlload import load_document
from orshot_gitops.errors import Diagnostic, Severity, UserError
from orshot_gitops.reconcile.plan import Action, Kind, Plan
from orshot_gitops.state.model import recorded_time
from orshot_gitops.vcs.gitrepo import GitRepo

AWAITING_REASON = "awaiting approval"
EDIT_NOTE = "; the version Orshot holds now still goes out as scheduled"
# What reaches a platform: a new post, a retry, an edit Orshot still holds, a draft
# published. Settling, syncing, discarding and pausing only ask about or take back.
_GATED = (Kind.CREATE, Kind.RETRY, Kind.EDIT, Kind.PUBLISH_DRAFT)
# An edit or a publish acts on one Orshot post shared by its group: held for one account,
# done for the others it would still reach the held one.
_SHARED = (Kind.EDIT, Kind.PUBLISH_DRAFT)


@dataclass(frozen=True)
class PullApprovals:
    """A pull request and who approved its head (each user's latest review)."""

    number: int
    head_sha: str
    approvers: frozenset[str]


@dataclass(frozen=True)
class DirectPush:
    """A commit that reached the branch through no pull request."""

    commit: str


@dataclass(frozen=True)
class Unknown:
    """GitHub could not say (no token, an error): never taken for an approval."""

    reason: str


Source = PullApprovals | DirectPush | Unknown


@dataclass(frozen=True)
class Evidence:
    """What GitHub said, per post: the change(s) each post's send rests on, and the members
    of the teams the rules name (None: the token could not read them)."""

    sources: Mapping[str, tuple[Source, ...]] = field(default_factory=dict)
    teams: Mapping[str, frozenset[str] | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Need:
    """One (post, account, rule): met or not, and the line that says so."""

    post_id: str
    account: str
    rule: int
    met: bool
    text: str  # "needs @acme/brand (LinkedIn): 0/1"


class ReviewLookup(Protocol):
    """GitHub, as apply needs it (github/reviews.py behind commands/approvals.py)."""

    def sources(self, commits: Sequence[str]) -> Mapping[str, Source]: ...

    def team_members(self, teams: Sequence[str]) -> Mapping[str, frozenset[str] | None]: ...


def applies(rule: ApprovalRule, action: Action, now: datetime) -> bool:
    """Whether `rule` covers this send: its account (by alias, platform or "*") and, with
    `scheduled_within`, only when it goes out that soon (publishing now does)."""
    if action.kind not in _GATED or action.mode == "draft":
        return False  # a draft reaches no one: its publish is gated when it comes
    if rule.post_id is not None and rule.post_id != action.post_id:
        return False  # an override covers the one post that broke the content rule
    named = set(rule.accounts)
    if not ({EVERY_ACCOUNT, action.account, action.platform} & named):
        return False
    if rule.scheduled_within is None:
        return True
    when = recorded_time(action.scheduled_for) if action.scheduled_for else None
    if when is None:
        return True  # published now
    return when - now <= rule.scheduled_within


def needs(
    plan: Plan, rules: Sequence[ApprovalRule], evidence: Evidence, now: datetime
) -> tuple[Need, ...]:
    """Every rule that covers a send of the plan, met or not, in the plan's order."""
    found = []
    for action in plan.actions:
        for rule in rules:
            if not applies(rule, action, now):
                continue
            sources = evidence.sources.get(action.post_id) or (Unknown("not looked up"),)
            met, text = _judge(rule, action, sources, evidence.teams)
            found.append(Need(action.post_id, action.account, rule.index, met, text))
    return tuple(dict.fromkeys(found))


def _judge(
    rule: ApprovalRule,
    action: Action,
    sources: Iterable[Source],
    teams: Mapping[str, frozenset[str] | None],
) -> tuple[bool, str]:
    who = ", ".join(rule.reviewers) if rule.reviewers else "any reviewer"
    to = f" to override rule {rule.overrides!r}" if rule.overrides else ""
    label = f"needs {who}{to} ({_label(action.platform)})"
    worst: tuple[bool, str] | None = None
    for source in sources:
        if isinstance(source, DirectPush) and rule.overrides:
            # A content rule's `deny` has no direct_push escape: only its reviewers lift it.
            verdict = (False, f"{label}: 0/{rule.min}, pushed without a pull request")
        elif isinstance(source, Unknown):
            verdict = (False, f"{label}: unknown, {source.reason}")
        elif isinstance(source, DirectPush):
            if rule.direct_push == "allow":
                continue
            verdict = (
                False,
                f"{label}: 0/{rule.min}, pushed without a pull request ({source.commit[:12]})",
            )
        else:
            count, unread = _count(rule, source.approvers, teams)
            text = f"{label}: {min(count, rule.min)}/{rule.min} (#{source.number})"
            if count < rule.min and unread:
                # No "; " inside one need: it separates the needs of one send.
                text += (
                    f", not counting {', '.join(unread)}: its members cannot be read "
                    "(the token needs read:org)"
                )
            verdict = (count >= rule.min, text)
        if worst is None or (worst[0] and not verdict[0]):
            worst = verdict
    return worst if worst is not None else (True, f"{label}: direct push allowed")


def _count(
    rule: ApprovalRule, approvers: frozenset[str], teams: Mapping[str, frozenset[str] | None]
) -> tuple[int, list[str]]:
    """How many distinct approvers the rule accepts, and the teams that could not be read."""
    if not rule.reviewers:
        return len(approvers), []
    accepted: set[str] = set()
    unread = []
    lowered = {a.lower() for a in approvers}  # GitHub logins are case-insensitive
    for reviewer in rule.reviewers:
        if "/" not in reviewer:
            if reviewer[1:].lower() in lowered:
                accepted.add(reviewer[1:].lower())
            continue
        members = teams.get(reviewer)
        if members is None:
            unread.append(reviewer)
            continue
        accepted |= {m.lower() for m in members} & lowered
    return len(accepted), unread


def _label(platform: str) -> str:
    rules = platforms.RULES.get(platform)
    return rules.label if rules is not None else platform


def hold_unmet(plan: Plan, found: Sequence[Need]) -> Plan:
    """The plan with every send whose rule is not met held (Kind.AWAITING_APPROVAL)."""
    unmet: dict[tuple[str, str], list[str]] = {}
    for need in found:
        if not need.met:
            unmet.setdefault((need.post_id, need.account), []).append(need.text)
    if not unmet:
        return plan
    shared = {
        a.group
        for a in plan.actions
        if a.kind in _SHARED and (a.post_id, a.account) in unmet and a.group is not None
    }
    actions = []
    for action in plan.actions:
        texts = unmet.get((action.post_id, action.account))
        if action.kind not in _GATED:
            actions.append(action)
        elif texts:
            actions.append(_awaiting(action, "; ".join(texts)))
        elif action.kind in _SHARED and action.group in shared:
            actions.append(
                _awaiting(action, "shares its Orshot post with an account awaiting approval")
            )
        else:
            actions.append(action)
    return replace(plan, actions=tuple(actions))


def _awaiting(action: Action, why: str) -> Action:
    reason = f"{AWAITING_REASON}: {why}"
    if action.kind is Kind.EDIT:
        # The edit waits; Orshot still holds the version approved before, and it fires.
        reason += EDIT_NOTE
    return replace(action, kind=Kind.AWAITING_APPROVAL, reason=reason, severity="warning")


def awaiting(plan: Plan) -> dict[str, dict[str, tuple[str, ...]]]:
    """{post id: {account: (what it needs, ...)}} of the sends the plan holds for approval:
    what the state records and `status` lists."""
    found: dict[str, dict[str, tuple[str, ...]]] = {}
    for action in plan.actions:
        if action.kind is Kind.AWAITING_APPROVAL:
            why = action.reason.removeprefix(f"{AWAITING_REASON}: ").removesuffix(EDIT_NOTE)
            found.setdefault(action.post_id, {})[action.account] = tuple(why.split("; "))
    return {post: dict(sorted(accounts.items())) for post, accounts in sorted(found.items())}


def awaiting_note(held: Mapping[str, Mapping[str, tuple[str, ...]]]) -> str:
    """ "2 posts held, awaiting approval" (empty when none is)."""
    n = len(held)
    return f"{n} post{'s' if n != 1 else ''} held, awaiting approval" if n else ""


# --- apply: the rules in force and the changes each post rests on -------------------------


@dataclass(frozen=True)
class RulesInForce:
    rules: tuple[ApprovalRule, ...]
    without_github: str  # hold | send
    config: Config


def rules_in_force(
    git: GitRepo, config: Config, reconciled: str | None, plan: Plan
) -> RulesInForce:
    """The rules of HEAD, the overrides the plan's broken content rules need
    (`override_rules`), and those orshot.yaml had before each change to it
    since the last reconciled commit (and at that commit): a change that drops or loosens a
    rule is itself judged by the rule it drops (the repository is untrusted input; a rule
    that says `direct_push: allow` must not pass the very push that wrote it). A rule removed
    on purpose stops counting once the change that removes it is reconciled.

    `approvals_without_github` is HEAD's alone: it matters only where no review exists to
    check, so whoever may push is the only authority there is, and a `send` written to
    unblock held posts must not wait for a reconcile those very holds keep back."""
    rules = list(config.approvals)
    known = {_shape(r) for r in rules}
    earlier = [reconciled] if reconciled else []
    try:
        changes = git.commits_touching(CONFIG_FILE, reconciled)
    except UserError:
        changes = []  # the reconciled commit is not here (shallow): HEAD and it alone
    earlier += [parent for _, _, parent in (c.partition(" ") for c in changes) if parent]
    for commit in dict.fromkeys(earlier):
        found = _rules_at(git, commit)
        if found is None:
            continue
        for rule in found:
            if _shape(rule) not in known:
                known.add(_shape(rule))
                rules.append(rule)
    rules.extend(override_rules(plan))
    return RulesInForce(tuple(rules), config.approvals_without_github, config)


def override_rules(plan: Plan) -> tuple[ApprovalRule, ...]:
    """The approvals a plan's overridable content-rule violations need: one per (post,
    account, rule), met by one approving review of the rule's `override:` reviewers."""
    return tuple(
        ApprovalRule(
            index=-1,
            accounts=(account,),
            reviewers=reviewers,
            min=1,
            post_id=post_id,
            overrides=rule,
        )
        for post_id, account, rule, reviewers in plan.overrides
    )


def _shape(rule: ApprovalRule) -> tuple[object, ...]:
    return (rule.accounts, rule.reviewers, rule.min, rule.scheduled_within, rule.direct_push)


def _rules_at(git: GitRepo, commit: str) -> tuple[ApprovalRule, ...] | None:
    try:
        text = git.file_at(commit, CONFIG_FILE)
        if text is None:
            return None
        data = load_document(text, CONFIG_FILE).data
    except UserError:
        return None  # not readable there: it passed validation when it was reconciled
    if not isinstance(data, Mapping):
        return None
    return rules_from_data(data.get("approvals"))


def gated_paths(plan: Plan, rules: Sequence[ApprovalRule], now: datetime) -> dict[str, str]:
    """{post id: path} of the posts with a send some rule covers."""
    return {a.post_id: a.path for a in plan.actions if any(applies(r, a, now) for r in rules)}


def batch_inputs(plan: Plan) -> dict[str, tuple[str, ...]]:
    """{batch file: its data file}: a batch row changes with either (content/batches.py)."""
    return {batch.path: (batch.data_path,) for batch in plan.batches}


def change_commits(
    git: GitRepo,
    config: Config,
    paths: Mapping[str, str],
    rev: str = "HEAD",
    inputs: Mapping[str, tuple[str, ...]] = {},
) -> dict[str, tuple[str | None, str | None]]:
    """{post id: (the newest commit that touched its file, the newest that touched the shared
    inputs unless that one is already in the first's history)}, as of `rev`. A shared change
    made beside the post's own (another pull request, merged in between) changed what the
    post sends too; `rests_on` drops it when the post's pull request already contained it."""
    shared_commit = git.last_commit_touching((CONFIG_FILE, config.templates_dir + "/"), rev)
    found = {}
    for post_id, path in sorted(paths.items()):
        # A batch row's own change is its post file's or its data file's, the newer.
        own = git.last_commit_touching((path, *inputs.get(path, ())), rev)
        shared = shared_commit
        if shared is not None and own is not None and git.is_ancestor(shared, own):
            shared = None
        found[post_id] = (own, shared if shared != own else None)
    return found


def rests_on(
    git: GitRepo,
    commits: Mapping[str, tuple[str | None, str | None]],
    by_commit: Mapping[str, Source],
) -> dict[str, tuple[Source, ...]]:
    """Each post's sources: what GitHub said of its own change and, unless the pull request
    of that change already held it (its head contains the shared change: its reviewers saw
    the post as the shared change made it), of the shared change."""
    missing = Unknown("GitHub did not answer for this commit")
    found: dict[str, tuple[Source, ...]] = {}
    for post_id, (own, shared) in commits.items():
        sources: list[Source] = []
        own_source = by_commit.get(own, missing) if own else None
        if own_source is not None:
            sources.append(own_source)
        if shared and not _contains(git, own_source, shared):
            sources.append(by_commit.get(shared, missing))
        found[post_id] = tuple(sources) or (Unknown("no commit of this branch touches it"),)
    return found


def _contains(git: GitRepo, source: Source | None, commit: str) -> bool:
    if not isinstance(source, PullApprovals) or not source.head_sha:
        return False
    try:
        return git.is_ancestor(commit, source.head_sha)
    except UserError:
        return False  # the head is not here (a deleted branch, squashed): ask for both


def gate(
    plan: Plan,
    git: GitRepo,
    config: Config | None,
    reconciled: str | None,
    lookup: ReviewLookup | None,
    now: datetime,
    progress: Callable[[str], None] = lambda message: None,
) -> Plan:
    """apply's check: the plan with every send an unmet rule covers held. Without GitHub
    (`lookup` None) the rules cannot be checked: `approvals_without_github` decides, and
    the plan says which rules went unchecked."""
    if config is None or plan.errors:
        return plan
    force = rules_in_force(git, config, reconciled, plan)
    if not force.rules:
        return plan  # no approvals: today's behaviour, and no GitHub call at all
    paths = gated_paths(plan, force.rules, now)
    if not paths:
        return plan
    if lookup is None:
        return _without_github(plan, force, now)
    commits = change_commits(git, config, paths, inputs=batch_inputs(plan))
    try:
        by_commit = lookup.sources(sorted({c for cs in commits.values() for c in cs if c}))
        teams = lookup.team_members(sorted({t for r in force.rules for t in r.teams}))
    except UserError as error:
        by_commit, teams = {}, {}
        progress(f"could not ask GitHub about approvals: {error.message}; held")
    sources = rests_on(git, commits, by_commit)
    return hold_unmet(plan, needs(plan, force.rules, Evidence(sources, teams), now))


def _without_github(plan: Plan, force: RulesInForce, now: datetime) -> Plan:
    """The rules named as unchecked; their sends held or sent as `approvals_without_github`
    says. An override of a content rule is always held: a `deny` stands until its reviewers
    lift it, and without GitHub there is no review to read."""
    own_rules = [r for r in force.rules if not r.overrides]
    unchecked = sorted(
        {r.index: r for r in own_rules for a in plan.actions if applies(r, a, now)}.items()
    )
    held = force.without_github != "send"
    document = force.config.document
    notes = []
    for index, rule in unchecked:
        current = force.config.approvals
        own = index < len(current) and _shape(current[index]) == _shape(rule)
        # A rule kept from the reconciled commit has no line in today's orshot.yaml.
        line, column = document.position(("approvals", index)) if document and own else (0, 0)
        outcome = (
            "its posts are held (approvals_without_github: hold)"
            if held
            else "its posts are sent unchecked (approvals_without_github: send)"
        )
        notes.append(
            Diagnostic(
                CONFIG_FILE,
                line,
                column,
                Severity.WARNING,
                "approvals-unchecked",
                f"{rule.describe()} cannot be checked without GitHub: {outcome}",
                "apply in GitHub Actions, with the workflow's token, to check the reviews",
            )
        )
    plan = replace(plan, diagnostics=(*plan.diagnostics, *notes))
    found = tuple(
        Need(
            a.post_id,
            a.account,
            r.index,
            False,
            f"{r.describe()}: cannot be checked without GitHub",
        )
        for a in plan.actions
        for r in force.rules
        if (held or r.overrides) and applies(r, a, now)
    )
    return hold_unmet(plan, found)
