"""The plan as a pull-request review: a week of posts, day by day, each caption exactly as each
account will get it. Also the summary of what an apply sent, for the CI job page.

Everything from a post file or from Orshot goes through `report.markdown` (nothing can ping,
link, inject HTML or break out of its fence). The output depends only on the plan and `now`:
the same plan gives the same comment, so re-runs edit it without noise.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from orshot_gitops.content import platforms
from orshot_gitops.errors import Severity
from orshot_gitops.reconcile.approvals import Need
from orshot_gitops.reconcile.health import reconnect_lines
from orshot_gitops.reconcile.plan import Action, Kind, Plan
from orshot_gitops.reconcile.previews import Renders
from orshot_gitops.report import fold
from orshot_gitops.report import markdown as md
from orshot_gitops.report.media import ALT_NOT_SENT, media_markdown
from orshot_gitops.report.renders import render_section
from orshot_gitops.report.review_changes import changes_markdown
from orshot_gitops.report.summary import batch_line, summary_line

TITLE = "### 🗓️ orshot-gitops plan"
_CUT_NOTE = (
    "> ✂️ **{n} more section(s) not shown**: this comment is cut to stay under GitHub's "
    "65,536-character limit. The full plan is in the job summary and in the `plan-json` output "
    "(`orshot-gitops plan` shows it locally)."
)

_WHAT = {
    Kind.RETRY: "🔁 retry",
    Kind.EDIT: "✏️ edit in place",
    Kind.PUBLISH_DRAFT: "🚀 publish the draft",
    Kind.SETTLE: "❓ unknown: confirm first",
    Kind.SYNC: "⏳ sync status",
    Kind.DISCARD: "🗑️ discard",
    Kind.RENAME: "↪️ renamed",
    Kind.REMOVED: "➖ removed",
    Kind.CHANGED_AFTER_PUBLISH: "⚠️ changed after publish",
    Kind.PAST_SCHEDULE: "❌ schedule passed",
    Kind.AMBIGUOUS: "❌ held back: moved or new?",
    Kind.RECORD_MISSING: "❌ held back: record missing",
    Kind.WAITING: "⏸️ failed: waits",
    Kind.PAUSE: "⏸️ back to a draft (paused)",
    Kind.DRIFT: "⚠️ changed in Orshot (drift)",
    Kind.NEEDS_RECONNECT: "🔌 held: account needs reconnecting",
    Kind.AWAITING_APPROVAL: "✋ held: awaiting approval",
    Kind.DENY_WINDOW: "🌙 held: deny window",
}
_BUCKETS = ("merge", "scheduled", "drafts", "other")
_NEW = {"publish": "🚀 new: publish", "schedule": "🗓️ new: schedule", "draft": "📝 new: draft"}


def what(action: Action) -> str:
    """What will happen, as a short label with an icon."""
    if action.kind is Kind.CREATE:
        return _NEW.get(action.mode or "", "🚀 new")
    return _WHAT[action.kind]


def platform_label(platform: str) -> str:
    rules = platforms.RULES.get(platform)
    return rules.label if rules else platform or "—"


@dataclass(frozen=True)
class _Post:
    post_id: str
    path: str
    actions: tuple[Action, ...]

    @property
    def lead(self) -> Action:
        """The action that says when and how this post goes out (one with content, if any)."""
        return next((a for a in self.actions if a.content is not None), self.actions[0])

    @property
    def moment(self) -> datetime | None:
        when = self.lead.scheduled_for
        return datetime.fromisoformat(when) if when else None

    @property
    def bucket(self) -> str:
        lead = self.lead
        if lead.content is None:
            return "other"
        if lead.mode == "draft":
            return "drafts"
        if self.moment is None:
            return "merge"
        return "scheduled"


def _posts(plan: Plan) -> list[_Post]:
    by_post: dict[str, list[Action]] = defaultdict(list)
    for action in plan.actions:
        by_post[action.post_id].append(action)
    posts = [
        _Post(pid, acts[0].path, tuple(sorted(acts, key=lambda a: (a.account, a.kind.value))))
        for pid, acts in by_post.items()
    ]
    far = datetime.max.replace(tzinfo=timezone.utc)
    return sorted(posts, key=lambda p: (p.moment or far, p.post_id))


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def review_zone(plan: Plan) -> str:
    """The timezone days are grouped in: the one most posts use (ties: alphabetical)."""
    counts = Counter(a.timezone for a in plan.actions if a.timezone and a.scheduled_for)
    if not counts:
        return "UTC"
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[0][0]


def relative(moment: datetime, now: datetime) -> str:
    """`in 3 days 4 h`, `in 25 min`, `2 h ago`: whole units, rounded down."""
    seconds = int((moment - now).total_seconds())
    future = seconds >= 0
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        span = f"{days} day{'s' if days != 1 else ''}" + (f" {hours} h" if hours else "")
    elif hours:
        span = f"{hours} h" + (f" {minutes} min" if minutes else "")
    else:
        span = f"{minutes} min"
    return f"in {span}" if future else f"{span} ago"


def when(action: Action, now: datetime) -> str:
    """`Tue 09:00 EST (America/New_York) · 14:00 UTC · in 3 days`, or how it goes out."""
    if not action.scheduled_for:
        if action.mode == "draft":
            return "kept as a draft (not published)"
        return "as soon as this is merged" if action.content is not None else ""
    moment = datetime.fromisoformat(action.scheduled_for)
    utc = moment.astimezone(timezone.utc)
    parts = []
    if action.timezone and action.timezone != "UTC":
        local = moment.astimezone(_zone(action.timezone))
        parts.append(f"{local:%a %Y-%m-%d %H:%M} {local.tzname()} ({action.timezone})")
    parts.append(f"{utc:%a %Y-%m-%d %H:%M} UTC")
    parts.append(relative(utc, now))
    if action.tentative:
        parts.append(TENTATIVE_MARK)
    return " · ".join(parts)


TENTATIVE_MARK = "⏳ queue slot, tentative until merged"


def tentative_note(plan: Plan) -> list[str]:
    """What a queue slot shown in a review promises, and what it does not (docs/queues.md)."""
    slots = sorted({(a.post_id, a.account) for a in plan.actions if a.tentative})
    if not slots:
        return []
    return [
        "",
        f"> ⏳ **{len(slots)} queue slot(s) are tentative until merged** (`schedule: next`): "
        "if another pull request merged first takes a slot, apply gives the post the next "
        "free one of its queue and records it; the time is fixed from then on. The caption, "
        "media and accounts are exactly as shown.",
    ]


def _length(action: Action) -> str:
    if action.caption_length is None or not action.caption_limit:
        return "—"
    over = action.caption_length - action.caption_limit
    mark = f" ❌ {over:,} over" if over > 0 else ""
    return f"{action.caption_length:,} / {action.caption_limit:,}{mark}"


def _post_section(post: _Post, now: datetime) -> str:
    lead = post.lead
    lines = [f"##### {md.code(post.post_id)}"]
    meta = [md.code(post.path)]
    if lead.revision != 1:
        meta.append(f"revision {lead.revision}")
    moment = when(lead, now)
    if moment:
        meta.append(md.text(moment))
    lines += ["", " · ".join(meta), ""]
    lines += [
        "| account | platform | will | why | caption length |",
        "| --- | --- | --- | --- | --- |",
    ]
    for action in post.actions:
        lines.append(
            f"| {md.code(action.account, in_table=True)} | {md.cell(platform_label(action.platform))} "
            f"| {what(action)} | {md.cell(action.reason)} | {_length(action)} |"
        )
    lines.append("")
    lines += _captions(post)
    lines += _media(post)
    lines += changes_markdown(
        post.actions, {a.account: platform_label(a.platform) for a in post.actions}
    )
    lines += _warnings(post)
    return "\n".join(lines).rstrip("\n") + "\n\n"


def _captions(post: _Post) -> list[str]:
    lines: list[str] = []
    by_caption: dict[str, list[Action]] = defaultdict(list)
    for action in post.actions:
        if action.content is not None:
            by_caption[action.content].append(action)
    for caption in sorted(by_caption, key=lambda c: by_caption[c][0].account):
        who = ", ".join(
            f"{md.code(a.account)} ({md.text(platform_label(a.platform))}, {_length(a)})"
            for a in by_caption[caption]
        )
        lines.append(f"**Caption** for {who}:")
        lines.append("")
        on = [a.platform for a in by_caption[caption]]
        lines += [md.fence(fold.marked(caption, on)), ""]
        folded = fold.note(caption, on)
        lines += [f"<sub>{md.text(folded)}</sub>", ""] if folded else []
    for action in post.actions:
        if action.platform_options:
            options = json.dumps(dict(action.platform_options), indent=2, sort_keys=True)
            lines.append(f"**Options** for {md.code(action.account)} (also posted):")
            lines.append("")
            lines.append(md.fence(options, "json"))
            lines.append("")
    return lines


def _media(post: _Post) -> list[str]:
    lead = post.lead
    lines: list[str] = []
    lines += media_markdown(lead.media_urls, lead.media_alt)
    if lead.render:
        render: dict[str, Any] = dict(lead.render)
        lines.append(
            f"**Render**: Studio template {md.code(str(render.get('template')))} as "
            f"{md.code(str(render.get('format') or 'png'))}, rendered once before sending"
        )
        modifications = render.get("modifications") or {}
        if modifications:
            lines.append("")
            lines.append(md.fence(json.dumps(modifications, indent=2, sort_keys=True), "json"))
        alts = [alt for alt in lead.media_alt if alt]
        if alts:
            lines.append("")
            lines.append(f"**Alt text** ({ALT_NOT_SENT}): " + " · ".join(map(md.text, alts)))
        lines.append("")
    return lines


def _warnings(post: _Post) -> list[str]:
    notes: list[str] = []
    for action in post.actions:
        if action.severity:
            icon = "❌" if action.severity == "error" else "⚠️"
            notes.append(f"{icon} {md.code(action.account)}: {md.text(action.reason)}")
        if (
            action.caption_length is not None
            and action.caption_limit
            and action.caption_length > action.caption_limit
        ):
            notes.append(
                f"❌ {md.code(action.account)}: the caption is {action.caption_length:,} characters "
                f"as {md.text(platform_label(action.platform))} counts them; the limit is "
                f"{action.caption_limit:,}"
            )
    for caption in sorted({a.content for a in post.actions if a.content}):
        hidden = md.invisible_characters(caption)
        if hidden:
            notes.append(
                f"⚠️ a caption contains invisible characters ({', '.join(hidden)}): "
                "check that it reads as intended"
            )
    if not notes:
        return []
    return [*(f"> {note}  " for note in sorted(set(notes))), ""]


def _glance(posts: Sequence[_Post], zone: ZoneInfo) -> list[str]:
    lines = ["| when | post | accounts | will |", "| --- | --- | --- | --- |"]
    for post in posts:
        moment = post.moment
        if post.bucket == "merge":
            at = "on merge"
        elif post.bucket == "drafts":
            at = "draft"
        elif moment is None:
            at = "—"
        else:
            at = f"{moment.astimezone(zone):%a %Y-%m-%d %H:%M}"
        accounts = ", ".join(md.code(a.account, in_table=True) for a in post.actions)
        labels = ", ".join(sorted({what(a) for a in post.actions}))
        lines.append(f"| {at} | {md.code(post.post_id, in_table=True)} | {accounts} | {labels} |")
    return lines


def _header(plan: Plan, posts: Sequence[_Post], zone_name: str) -> list[str]:
    lines = [TITLE, ""]
    sending = plan.sending
    accounts = len({(a.post_id, a.account) for a in sending})
    head = f" for {md.code(plan.head[:12])}" if plan.head else ""
    lines.append(f"**{md.text(summary_line(plan))}**")
    lines.append("")
    if plan.paused:
        # One statement of what merging does: never "sends N" beside "sends nothing".
        lines += [
            f"> ⏸️ **Paused** (`paused: true` in `orshot.yaml`): merging{head} publishes, "
            "schedules and edits nothing until that is removed; the changes below wait.",
            "",
        ]
        lines.append(
            f"Merging moves {accounts} scheduled (post, account) pair(s) that would still go "
            "out back to drafts in Orshot (scheduled again when the pause is lifted)."
            if sending
            else "Merging sends nothing: Orshot holds no scheduled post of this repository "
            "that is yet to go out."
        )
    else:
        lines.append(
            f"Merging{head} sends {accounts} (post, account) pair(s) across "
            f"{len({a.post_id for a in sending})} post(s), exactly as shown below. "
            "Nothing is sent before the merge."
        )
    lines += tentative_note(plan)
    lines.append("")
    errors = [d for d in plan.diagnostics if d.severity is Severity.ERROR]
    action_errors = [a for a in plan.actions if a.severity == "error"]
    if errors or action_errors:
        lines.append(
            f"> ❌ **{len(errors) + len(action_errors)} error(s): nothing will be sent until "
            "they are fixed.**"
        )
        lines += _problem_lines(plan, Severity.ERROR)
        lines += [
            f"> - {md.code(a.path)} {md.code(a.account)}: {md.text(a.reason)}"
            for a in action_errors
        ]
        lines.append("")
    held = reconnect_lines(plan)
    if held:
        lines.append(
            "> 🔌 **Held until reconnected in Orshot** (nothing is sent to these accounts; "
            "`orshot-gitops accounts --reconnect ALIAS` prints a link):"
        )
        lines += [f"> - {md.text(line)}" for line in held]
        lines.append("")
    warnings = [d for d in plan.diagnostics if d.severity is Severity.WARNING]
    if warnings:
        lines.append(f"> ⚠️ **{len(warnings)} warning(s)**")
        lines += _problem_lines(plan, Severity.WARNING)
        lines.append("")
    if posts:
        lines.append(
            f"Times below are in each post's timezone and in UTC; days in {md.text(zone_name)}."
        )
        lines.append("")
    return lines


def _problem_lines(plan: Plan, severity: Severity) -> list[str]:
    lines = []
    for d in sorted(d for d in plan.diagnostics if d.severity is severity):
        where = d.path + (f":{d.line}" if d.line else "")
        hint = f" ({d.hint})" if d.hint else ""
        lines.append(f"> - {md.code(where)} {md.text(d.message + hint)}")
    return lines


def _day_title(day: datetime, now: datetime, zone: ZoneInfo) -> str:
    today = now.astimezone(zone).date()
    offset = (day.date() - today).days
    near = {0: " · today", 1: " · tomorrow", -1: " · yesterday"}.get(offset, "")
    return f"#### 📅 {day:%A %d %B %Y}{near}"


def plan_review(
    plan: Plan,
    now: datetime,
    *,
    max_chars: int = md.GITHUB_COMMENT_LIMIT,
    renders: Renders | None = None,
) -> str:
    """The plan as Markdown for a pull request: header, at-a-glance table, then day by day."""
    posts = [p for bucket in _BUCKETS for p in _posts(plan) if p.bucket == bucket]
    zone_name = review_zone(plan)
    zone = _zone(zone_name)
    sections = ["\n".join(_header(plan, posts, zone_name)) + "\n"]
    if renders is not None and render_section(renders):
        sections.append(render_section(renders))  # report/renders.py: credits, images
    if plan.batches:  # each batch in one line; its changing rows are in the days below
        lines = (f"- {md.text(batch_line(plan, batch, renders))}" for batch in plan.batches)
        sections.append("#### Batches\n\n" + "\n".join(lines) + "\n\n")
    if posts:
        sections.append("\n".join(_glance(posts, zone)) + "\n\n")
    titled = {
        "merge": "#### 🚀 On merge",
        "drafts": "#### 📝 Drafts (kept in Orshot, not published)",
        "other": "#### Other changes (nothing new is posted)",
    }
    current = ""
    for post in posts:
        if post.bucket == "scheduled":
            assert post.moment is not None
            title = _day_title(post.moment.astimezone(zone), now, zone)
        else:
            title = titled[post.bucket]
        section = _post_section(post, now)
        if title != current:
            section = title + "\n\n" + section
            current = title
        sections.append(section)
    footer = (
        f"<sub>{plan.unchanged} (post, account) pair(s) unchanged · "
        f"planned {now.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC by orshot-gitops</sub>\n"
    )
    body, _ = md.cut(sections, max_chars - len(footer) - 1, _CUT_NOTE)
    return body.rstrip("\n") + "\n\n" + footer


def preview_link(run_url: str, artifact: str) -> str:
    """The comment's one line pointing at the preview site (`orshot-gitops preview`), which
    the workflow uploads as an artifact of its run. Both values come from the workflow, not
    from a post; the name is kept to an artifact's plain characters all the same."""
    plain = 0 < len(artifact) <= 100 and all(
        c.isascii() and (c.isalnum() or c in "._-") for c in artifact
    )
    name = artifact if plain else "orshot-preview"
    return (
        "🔎 **Preview** (each post as each platform shows it, a calendar, ICS feeds): the "
        f"`{name}` artifact of [this run]({run_url})."
    )


def apply_summary(
    outcomes: Iterable[Any],
    *,
    title: str,
    note: str = "",
    commit_url: str | None = None,
) -> str:
    """What an apply run sent, with a link per post: for $GITHUB_STEP_SUMMARY and hooks."""
    lines = [f"### {md.text(title)}", ""]
    if note:
        lines += [md.text(note), ""]
    rows = sorted(outcomes, key=lambda o: (o.post_id, o.account))
    if rows:
        lines += ["| post | account | result | link or error |", "| --- | --- | --- | --- |"]
        for o in rows:
            icon = "✅" if o.ok else "❌"
            detail = md.link(o.url, in_table=True) if o.url else md.cell(o.error or "")
            lines.append(
                f"| {md.code(o.post_id, in_table=True)} | {md.code(o.account, in_table=True)} "
                f"| {icon} {md.cell(o.status)} | {detail} |"
            )
        lines.append("")
    if commit_url:
        lines += [f"Results recorded in {md.link(commit_url)}.", ""]
    return "\n".join(lines)


def approvals_markdown(needs: Sequence[Need], note: str = "") -> str:
    """The comment's approvals section: per post and account, each rule that covers it and
    how far it is (`needs @acme/brand (LinkedIn): 0/1`). Names are shown, never pinged."""
    lines = ["#### ✋ Approvals (orshot.yaml `approvals:`, and `override:` of a broken rule)", ""]
    if note:
        lines += [f"> ⚠️ {md.text(note)}: every rule below counts as not met.", ""]
    if not needs:
        lines.append("No post of this plan is covered by an approval rule.")
    for need in needs:
        icon = "✅" if need.met else "⏳"
        lines.append(
            f"- {icon} {md.code(need.post_id)} → {md.code(need.account)}: {md.text(need.text)}"
        )
    waiting = len({n.post_id for n in needs if not n.met})
    if waiting:
        lines += [
            "",
            f"{waiting} post(s) wait for approval: merged as they are, `apply` holds them "
            "until an approving review of this pull request's head commit is given (an "
            "approval of an earlier commit does not count).",
        ]
    return "\n".join(lines) + "\n"


def awaiting_lines(plan: Plan) -> list[str]:
    """ "held: 2026/launch → acme-linkedin awaiting approval: needs …", one per send."""
    return [
        f"held: {a.post_id} → {a.account} {a.reason}"
        for a in sorted(plan.actions, key=lambda a: (a.post_id, a.account))
        if a.kind is Kind.AWAITING_APPROVAL
    ]
