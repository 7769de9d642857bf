"""Generate a realistic content repository for the benchmarks, committed into git with history.

    python bench/make_corpus.py --posts 10000 --out /tmp/corpus
    python bench/make_corpus.py --posts 1000 --out /tmp/c --state --changed 10

The posts look like the ones in examples/: captions with Jinja variables, `{% include %}`
and macro imports, per-platform branches, single images, carousels, Studio renders with
templated modifications, platform options, schedules in the future (with and without their
own timezone), drafts, and plain captions with no Jinja at all. Every caption is distinct, as
in a real repository, so the template cache cannot hide the cost of compiling them. The
accounts are the sandbox's defaults (ids 1 to 8), so a corpus can be applied against it.

History: the posts arrive over several commits (an initial import, then batches of new and
edited posts), as a repository that has been used for a while would have.

With `--state`, a state file recording every post as sent (published, scheduled or drafted,
as each file says) at HEAD is committed on top, as `apply` would have done; `--changed N`
then commits N edited posts, so `plan` has exactly N changed posts to find.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
from pathlib import Path

ACCOUNTS = {
    "acme-x": (1, "twitter"),
    "acme-linkedin": (2, "linkedin"),
    "acme-insta": (3, "instagram"),
    "acme-facebook": (4, "facebook"),
    "acme-pins": (5, "pinterest"),
    "acme-tiktok": (6, "tiktok"),
    "acme-youtube": (7, "youtube"),
    "acme-store": (8, "googlebusiness"),
}

CONFIG = """\
# yaml-language-server: $schema=../schemas/config.schema.json
# The sandbox's default accounts (orshot-gitops sandbox): ids 1 to 8.
accounts:
{accounts}
vars:
  product: Acme Rockets
  site: https://acme.example.com
  team: the Acme launch crew
timezone: America/New_York
"""

SIGNATURE = """\
{%- if platform == "twitter" -%}
— {{ product }} · {{ site }}
{%- else -%}
— The {{ product }} team. More at {{ site }}
{%- endif -%}
"""

HASHTAGS = """\
{%- macro tags(names) -%}
{%- for name in names %}#{{ name }}{% if not loop.last %} {% endif %}{% endfor -%}
{%- endmacro -%}
"""

NOUNS = [
    "launch pad",
    "fuel cell",
    "booster",
    "nose cone",
    "guidance kit",
    "payload bay",
    "heat shield",
    "test stand",
    "ground crew",
    "mission log",
    "telemetry feed",
    "recovery boat",
]
VERBS = ["ships", "lands", "arrives", "goes live", "is back", "gets faster", "turns one"]
ADJECTIVES = ["lighter", "quieter", "greener", "cheaper", "safer", "brighter", "sturdier"]
CITIES = ["Berlin", "Houston", "Lisbon", "Osaka", "Toronto", "Nairobi", "Austin", "Oslo"]
TAGS = ["rockets", "engineering", "buildinpublic", "space", "launch", "makers", "hardware"]
ZONES = ["Europe/Berlin", "Asia/Tokyo", "America/Los_Angeles", "UTC", "Europe/Lisbon"]


def _sentence(rng: random.Random, n: int) -> str:
    noun, verb, adjective = rng.choice(NOUNS), rng.choice(VERBS), rng.choice(ADJECTIVES)
    return f"The {adjective} {noun} #{n} {verb} in {rng.choice(CITIES)}."


def _schedule(rng: random.Random) -> str:
    # Always in the future, so validate reports no past schedules.
    year = rng.choice([2031, 2032, 2033])
    return f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(7, 19):02d}:{rng.choice(['00', '15', '30', '45'])}"


def post_text(n: int, edit: int = 0) -> str:
    """The YAML of post number n (edit > 0: a later version of it, with another caption)."""
    # The structure (kind, accounts, schedule) is the post's own; an edit changes the caption.
    rng = random.Random(n * 7919)
    kind = rng.choices(
        ["text", "image", "carousel", "render", "per-platform", "plain", "video", "options"],
        weights=[22, 20, 10, 10, 10, 12, 6, 10],
    )[0]
    lines = [
        "# yaml-language-server: $schema=../../../schemas/post.schema.json",
        f"# Post {n}: {kind}.",
    ]
    sentence = _sentence(random.Random(f"{n}:{edit}"), n) + (f" (update {edit})" if edit else "")
    if kind == "text":
        accounts = rng.sample(["acme-x", "acme-linkedin", "acme-facebook", "acme-store"], 2)
        lines += [
            f"accounts: [{', '.join(accounts)}]",
            "content: |",
            f"  {sentence} {{{{ product }}}} thanks {{{{ team }}}}.",
            '  {% include "signature.j2" %}',
        ]
    elif kind == "image":
        accounts = rng.sample(["acme-x", "acme-insta", "acme-facebook", "acme-linkedin"], 3)
        lines += [
            f"accounts: [{', '.join(accounts)}]",
            "content: |",
            f"  Meet the {{{{ model }}}}: {{{{ thrust }}}} of thrust. {sentence}",
            '  {% include "signature.j2" %}',
            "vars:",
            f"  model: Pocket Rocket {n}",
            f"  thrust: {rng.randint(10, 90)} kN",
            f"media_url: https://cdn.acme.example.com/posts/{n}/{rng.choice(['hero.png', 'hero.jpg', 'shot.jpeg'])}",
        ]
    elif kind == "carousel":
        count = rng.randint(2, 6)
        tags = rng.sample(TAGS, 3)
        lines += [
            "accounts: [acme-insta, acme-linkedin, acme-facebook]",
            "content: |",
            f"  {sentence} Swipe through all {count} pictures!",
            f'  {{% import "hashtags.j2" as h %}}{{{{ h.tags({tags!r}) }}}}',
            "media_urls:",
            *(f"  - https://cdn.acme.example.com/posts/{n}/slide-{i}.jpg" for i in range(count)),
        ]
    elif kind == "render":
        version = f"{rng.randint(1, 9)}.{rng.randint(0, 20)}"
        lines += [
            "accounts: [acme-x, acme-linkedin]",
            "content: |",
            f"  {{{{ product }}}} {{{{ version }}}} is out. {sentence} Notes: {{{{ site }}}}/releases/{{{{ version }}}}",
            "vars:",
            f'  version: "{version}"',
            "render:",
            f"  template: {rng.choice([123, 456])}",
            "  modifications:",
            '    title: "{{ product }} {{ version }}"',
            f"    subtitle: {rng.choice(ADJECTIVES).title()}. {rng.choice(ADJECTIVES).title()}.",
            f"    build: {n}",
            f"  format: {rng.choice(['png', 'jpg'])}",
        ]
    elif kind == "per-platform":
        lines += [
            "accounts: [acme-x, acme-linkedin, acme-insta]",
            "content: |",
            '  {% if platform == "twitter" -%}',
            f"  Tip #{n}: {sentence} {{{{ site }}}}/tips/{n}",
            '  {%- elif platform == "linkedin" -%}',
            f"  Engineering tip #{n} from the {{{{ product }}}} team: {sentence}",
            f"  The method and our test data: {{{{ site }}}}/tips/{n}",
            "  {%- else -%}",
            f"  {sentence} Link in bio.",
            "  {%- endif %}",
            f"media_url: https://cdn.acme.example.com/tips/{n}.jpg",
        ]
    elif kind == "plain":
        accounts = rng.sample(["acme-linkedin", "acme-facebook", "acme-store"], 2)
        lines += [
            f"accounts: [{', '.join(accounts)}]",
            "content: |",
            f"  {sentence}",
            f"  Doors open at {rng.randint(8, 11)}:00 in {rng.choice(CITIES)}.",
        ]
    elif kind == "video":
        lines += [
            "accounts: [acme-tiktok, acme-youtube, acme-facebook]",
            f"content: '{{{{ product }}}} in motion: {sentence}'",
            f"media_url: https://cdn.acme.example.com/video/{n}.mp4",
        ]
    else:  # options: LinkedIn first comment, Pinterest title and link
        lines += [
            "accounts: [acme-linkedin, acme-pins]",
            "content: |",
            f"  We are hiring in {rng.choice(CITIES)}. {sentence}",
            '  {% include "signature.j2" %}',
            f"media_url: https://cdn.acme.example.com/jobs/{n}.png",
            "platform_options:",
            "  acme-linkedin:",
            f'    firstComment: "Apply here: {{{{ site }}}}/careers/{n}"',
            "    disableLinkPreview: true",
            "  acme-pins:",
            f"    title: Job {n} at {{{{ product }}}}",
            f"    link: https://acme.example.com/careers/{n}",
        ]
    roll = rng.random()
    if roll < 0.30:
        lines.append(f"schedule: {_schedule(rng)}")
        if rng.random() < 0.3:
            lines.append(f"timezone: {rng.choice(ZONES)}")
    elif roll < 0.36:
        lines.append("draft: true")
    if rng.random() < 0.03:
        lines.append("revision: 2")
    return "\n".join(lines) + "\n"


def post_path(n: int) -> str:
    return f"posts/{2026 + n % 3}/{n % 12 + 1:02d}/post-{n:05d}.yaml"


def _git(out: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
    }
    done = subprocess.run(
        ["git", *args], cwd=out, env=env, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def _write(out: Path, relative: str, text: str) -> None:
    path = out / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _commit(out: Path, message: str) -> str:
    _git(out, "add", "-A", ".")
    _git(out, "commit", "-q", "-m", message)
    return _git(out, "rev-parse", "HEAD")


def make_corpus(posts: int, out: Path, *, history: int = 5) -> Path:
    """A git repository at `out` holding `posts` posts, built over `history` commits."""
    if out.exists() and any(out.iterdir()):
        raise SystemExit(f"{out} exists and is not empty")
    out.mkdir(parents=True, exist_ok=True)
    _git(out, "init", "-q", "-b", "main")
    accounts = "\n".join(
        f"  {alias}: {{id: {id_}, platform: {platform}}}"
        for alias, (id_, platform) in ACCOUNTS.items()
    )
    _write(out, "orshot.yaml", CONFIG.format(accounts=accounts))
    _write(out, "templates/signature.j2", SIGNATURE)
    _write(out, "templates/hashtags.j2", HASHTAGS)
    # The first commit imports most posts; each later one adds a batch and edits a few.
    first = max(1, posts * 8 // 10)
    for n in range(first):
        _write(out, post_path(n), post_text(n))
    _commit(out, f"import {first} posts")
    rng = random.Random(posts)
    done = first
    for step in range(1, history):
        batch = (posts - first) // (history - 1) if step < history - 1 else posts - done
        for n in range(done, done + batch):
            _write(out, post_path(n), post_text(n))
        for n in rng.sample(range(done), min(done, 5)):
            _write(out, post_path(n), post_text(n, edit=step))
        done += batch
        _commit(out, f"batch {step}: {batch} new posts, 5 edited")
    return out


def record_state(out: Path) -> str:
    """Commit a state file that records every post as sent, at the current HEAD."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from datetime import datetime, timezone

    from orshot_gitops.content.validate import validate_repo
    from orshot_gitops.state.model import AccountState, AccountStatus, PostState, new_state
    from orshot_gitops.state.store import write_state

    head = _git(out, "rev-parse", "HEAD")
    report = validate_repo(out, datetime.now(timezone.utc))
    if report.errors:
        raise SystemExit(f"the corpus has {report.errors} errors: {report.diagnostics[:3]}")
    state = new_state().with_commit(head)
    stamp = "2026-01-01T00:00:00+00:00"
    orshot_id = 1000
    for post in report.posts:
        spec = post.spec
        if spec.draft:
            status = AccountStatus.DRAFTED
        elif post.scheduled_for is not None:
            status = AccountStatus.SCHEDULED
        else:
            status = AccountStatus.PUBLISHED
        accounts = {}
        for payload in post.payloads:
            orshot_id += 1
            accounts[payload.account.alias] = AccountState(
                account_id=payload.account.id,
                fingerprint=payload.fingerprint,
                revision=spec.revision,
                status=status,
                post_id=orshot_id,
                action="create",
                attempts=1,
                first_attempt_at=stamp,
                last_attempt_at=stamp,
                scheduled_for=post.scheduled_for.isoformat() if post.scheduled_for else None,
            )
        state = state.with_post(
            spec.id, PostState(path=spec.path, revision=spec.revision, accounts=accounts)
        )
    write_state(out, state)
    return _commit(out, f"orshot: record {len(report.posts)} posts sent from {head[:12]}")


def change_posts(out: Path, count: int, posts: int) -> str:
    """Commit `count` edited posts (new captions), spread over the repository."""
    step = max(1, posts // max(count, 1))
    for i in range(count):
        n = (i * step + step // 2) % posts
        _write(out, post_path(n), post_text(n, edit=100 + i))
    return _commit(out, f"edit {count} posts")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, required=True, help="how many post files")
    parser.add_argument("--out", type=Path, required=True, help="a new or empty directory")
    parser.add_argument("--history", type=int, default=5, help="commits the posts arrive in")
    parser.add_argument(
        "--state", action="store_true", help="commit a state file recording every post as sent"
    )
    parser.add_argument("--changed", type=int, default=0, help="then commit this many edited posts")
    args = parser.parse_args(argv)
    make_corpus(args.posts, args.out, history=args.history)
    if args.state:
        record_state(args.out)
    if args.changed:
        change_posts(args.out, args.changed, args.posts)
    print(f"{args.posts} posts in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
