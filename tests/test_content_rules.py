"""Content rules (`rules:` in orshot.yaml): each kind of violation is one exact line at its
place, a bad rule is one error in orshot.yaml, and no rules means nothing changes."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from repo_fixtures import CONFIG, content_repo

from orshot_gitops.content.compile import CompiledPost, Compiler
from orshot_gitops.content.load import load_config, load_posts
from orshot_gitops.content.rulecheck import overridable
from orshot_gitops.content.ruletypes import Overridable
from orshot_gitops.content.templating import TemplateEngine
from orshot_gitops.content.utm import UtmError, add_utm
from orshot_gitops.content.validate import validate_repo

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)

RULES = """\
rules:
  - name: no-hype
    accounts: [x, linkedin]
    banned: [guaranteed, "/(?i)free\\\\s+money/"]
    override: ["@acme/legal"]
  - name: disclose
    when: {sponsored: true}
    required: ["#ad"]
  - name: links
    links: {allowed_domains: [acme.com], utm_required: [shop.acme.com]}
  - name: tags
    accounts: [twitter]
    max_hashtags: 2
    max_mentions: 1
  - name: quiet
    accounts: [li]
    deny_windows: ["Mon-Fri 22:00-07:00", "2026-12-24..2026-12-26", "until 2026-12-01T09:00"]
  - name: soft-quiet
    severity: warn
    accounts: [fb]
    deny_windows: ["Sat-Sun 00:00-23:59"]
  - name: spacing
    accounts: [x]
    min_spacing: 2h
  - name: a11y
    accounts: [instagram]
    alt_text: required
"""

# (name, post files, the exact lines expected)
CASES = [
    (
        "banned word in a block caption: at the word's own line and column",
        {"posts/p.yaml": "accounts: [x]\ncontent: |\n  Hello\n  Results guaranteed!\n"},
        [
            "posts/p.yaml:4:11: warning: 'guaranteed' is banned (on x): denied by rule 'no-hype' "
            "(held until approved by @acme/legal) (reword the caption)"
        ],
    ),
    (
        "banned pattern in a quoted caption, on word boundaries and case-insensitive",
        {"posts/p.yaml": 'accounts: [x, li, fb]\ncontent: "FREE  money, GUARANTEED"\n'},
        [
            "posts/p.yaml:2:11: warning: 'FREE  money' is banned (on li, x): denied by rule "
            "'no-hype' (held until approved by @acme/legal) (reword the caption)",
            "posts/p.yaml:2:24: warning: 'GUARANTEED' is banned (on li, x): denied by rule "
            "'no-hype' (held until approved by @acme/legal) (reword the caption)",
        ],
    ),
    (
        "a banned word built by the template is still caught, at the caption",
        {"posts/p.yaml": "accounts: [x]\ncontent: \"{{ 'guaran' ~ 'teed' }}\"\n"},
        [
            "posts/p.yaml:2:10: warning: 'guaranteed' is banned (on x): denied by rule 'no-hype' "
            "(held until approved by @acme/legal) (reword the caption)"
        ],
    ),
    (
        "a banned word with an invisible character or in fullwidth letters is still caught",
        {"posts/p.yaml": 'accounts: [x]\ncontent: "guar\\u200banteed \\uff47uaranteed"\n'},
        [
            "posts/p.yaml:2:10: warning: 'guaranteed' is banned (on x): denied by rule 'no-hype' "
            "(held until approved by @acme/legal) (reword the caption)"
        ],
    ),
    (
        "a banned word in LinkedIn's first comment: it goes out in public too",
        {
            "posts/p.yaml": "accounts: [li]\ncontent: hi\n"
            "platform_options:\n  li: {firstComment: Guaranteed returns}\n"
        },
        [
            "posts/p.yaml:4:22: warning: 'Guaranteed' is banned (on li): denied by rule 'no-hype' "
            "(held until approved by @acme/legal) (reword it)"
        ],
    ),
    (
        "a word inside another word is not the banned word",
        {"posts/p.yaml": "accounts: [x]\ncontent: unguaranteedly fine\n"},
        [],
    ),
    (
        "required word missing on a sponsored post",
        {
            "posts/p.yaml": 'accounts: [fb]\ncontent: "Our partner\'s gear #adventure"\nsponsored: true\n'
        },
        [
            "posts/p.yaml:2:10: error: '#ad' is required (on fb): denied by rule 'disclose' "
            "(add it to the caption)"
        ],
    ),
    (
        "a required word hidden in a link does not count: X shows the link as t.co/...",
        {
            "posts/p.yaml": "accounts: [fb]\ncontent: Our partner https://acme.com/x/#ad\n"
            "sponsored: true\n"
        },
        [
            "posts/p.yaml:2:10: error: '#ad' is required (on fb): denied by rule 'disclose' "
            "(add it to the caption)"
        ],
    ),
    (
        "a sponsored post with #ad passes, an unsponsored one needs none",
        {
            "posts/p.yaml": 'accounts: [fb]\ncontent: "Our partner\'s gear #ad"\nsponsored: true\n',
            "posts/q.yaml": "accounts: [fb]\ncontent: Our own gear\n",
        },
        [],
    ),
    (
        "a link to a domain not allowed",
        {"posts/p.yaml": "accounts: [fb]\ncontent: |\n  See https://evil.example/x now\n"},
        [
            "posts/p.yaml:3:7: error: the link to evil.example is not to an allowed domain "
            "(on fb): denied by rule 'links' (allowed: acme.com)"
        ],
    ),
    (
        "a bare domain is a link too (platforms make it one), and so is one hidden in an allowed host's name",
        {
            "posts/p.yaml": "accounts: [fb]\n"
            "content: See https://evil.com.acme.com/x or evil.com, and shop.acme.com/y\n"
        },
        [
            "posts/p.yaml:2:45: error: the link to evil.com is not to an allowed domain "
            "(on fb): denied by rule 'links' (allowed: acme.com)",
            "posts/p.yaml:2:59: error: the link shop.acme.com/y lacks utm_source, utm_medium, "
            "utm_campaign (on fb): denied by rule 'links' (write it as "
            "{{ 'https://shop.acme.com/y' | utm }} and the parameters are added)",
        ],
    ),
    (
        "a link to the brand's shop without UTM parameters",
        {"posts/p.yaml": "accounts: [fb]\ncontent: Buy at https://shop.acme.com/x?id=1\n"},
        [
            "posts/p.yaml:2:17: error: the link https://shop.acme.com/x?id=1 lacks utm_source, "
            "utm_medium, utm_campaign (on fb): denied by rule 'links' (write it as "
            "{{ 'https://shop.acme.com/x?id=1' | utm }} and the parameters are added)"
        ],
    ),
    (
        "the | utm filter satisfies the UTM rule",
        {
            "posts/p.yaml": "accounts: [fb, x]\n"
            "content: \"Buy at {{ 'https://shop.acme.com/x?id=1#top' | utm }}\"\n"
        },
        [],
    ),
    (
        "too many hashtags and mentions on X, fine on Facebook",
        {"posts/p.yaml": "accounts: [x, fb]\ncontent: '#a #b #c @dana @eve mail dana@acme.com'\n"},
        [
            "posts/p.yaml:2:10: error: 2 mentions, more than the 1 allowed (on x): denied by "
            "rule 'tags' (keep at most 1)",
            "posts/p.yaml:2:10: error: 3 hashtags, more than the 2 allowed (on x): denied by "
            "rule 'tags' (keep at most 2)",
        ],
    ),
    (
        "scheduled inside quiet hours (past midnight, in the account's timezone)",
        {"posts/p.yaml": "accounts: [li]\ncontent: hi\nschedule: 2026-12-03T06:30\n"},
        [
            "posts/p.yaml:3:11: error: scheduled for Thu 2026-12-03 06:30 Europe/Berlin, inside "
            "the deny window 'Mon-Fri 22:00-07:00' (on li): denied by rule 'quiet' "
            "(move the schedule out of the window)"
        ],
    ),
    (
        "scheduled on a holiday",
        {"posts/p.yaml": "accounts: [li]\ncontent: hi\nschedule: 2026-12-25T12:00\n"},
        [
            "posts/p.yaml:3:11: error: scheduled for Fri 2026-12-25 12:00 Europe/Berlin, inside "
            "the deny window '2026-12-24..2026-12-26' (on li): denied by rule 'quiet' "
            "(move the schedule out of the window)"
        ],
    ),
    (
        "scheduled before an embargo lifts",
        {"posts/p.yaml": "accounts: [li]\ncontent: hi\nschedule: 2026-12-01T08:59\n"},
        [
            "posts/p.yaml:3:11: error: scheduled for Tue 2026-12-01 08:59 Europe/Berlin, inside "
            "the deny window 'until 2026-12-01T09:00' (on li): denied by rule 'quiet' "
            "(move the schedule out of the window)"
        ],
    ),
    (
        "outside every window",
        {"posts/p.yaml": "accounts: [li]\ncontent: hi\nschedule: 2026-12-01T09:00\n"},
        [],
    ),
    (
        "a warn rule's window is a warning",
        {"posts/p.yaml": "accounts: [fb]\ncontent: hi\nschedule: 2026-12-05T10:00\n"},
        [
            "posts/p.yaml:3:11: warning: scheduled for Sat 2026-12-05 10:00 Europe/Berlin, "
            "inside the deny window 'Sat-Sun 00:00-23:59' (on fb): warned of by rule "
            "'soft-quiet' (move the schedule out of the window)"
        ],
    ),
    (
        "two posts on one account closer than min_spacing: at the later one",
        {
            "posts/a.yaml": "accounts: [x]\ncontent: one\nschedule: 2026-12-02T10:00\n",
            "posts/b.yaml": "accounts: [x, fb]\ncontent: two\nschedule: 2026-12-02T11:30\n",
            "posts/c.yaml": "accounts: [x]\ncontent: three\nschedule: 2026-12-02T13:30\n",
        },
        [
            "posts/b.yaml:3:11: error: on x, 1h30m from post 'a' (2026-12-02 09:00 UTC); at "
            "least 2h apart: denied by rule 'spacing' (move one of the two schedules)"
        ],
    ),
    (
        "alt text required on Instagram: the item without it",
        {
            "posts/p.yaml": "accounts: [ig]\ncontent: hi\nmedia_urls:\n"
            "  - {url: 'https://cdn.acme.com/1.png', alt: A rocket}\n"
            "  - https://cdn.acme.com/2.png\n"
        },
        [
            "posts/p.yaml:5:5: error: media item 2 has no alt text (on ig): denied by rule "
            "'a11y' (add 'alt:' describing it)"
        ],
    ),
    (
        "alt text required on a render",
        {"posts/p.yaml": "accounts: [ig]\ncontent: hi\nrender: {template: 7}\n"},
        [
            "posts/p.yaml:3:9: error: the rendered image has no alt text (on ig): denied by "
            "rule 'a11y' (add 'alt:' describing it)"
        ],
    ),
    (
        "alt text given everywhere",
        {
            "posts/p.yaml": "accounts: [ig]\ncontent: hi\n"
            "media_url: {url: 'https://cdn.acme.com/1.png', alt: A rocket}\n",
            "posts/q.yaml": "accounts: [ig]\ncontent: hi\nrender: {template: 7, alt: [A, B]}\n",
        },
        [],
    ),
]


@pytest.mark.parametrize(("posts", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_rule_violation_is_one_line_at_its_place(
    tmp_path: Path, posts: dict[str, str], expected: list[str]
) -> None:
    content_repo(tmp_path, posts, CONFIG + RULES)
    report = validate_repo(tmp_path, NOW)
    assert [d.format() for d in report.diagnostics] == expected


BAD_RULES = [
    (
        "unknown alias, with did you mean",
        "rules:\n  - accounts: [lii]\n    max_hashtags: 2\n",
        "orshot.yaml:17:16: error: rule '#1': 'lii' is neither an account alias nor a platform "
        "(did you mean 'li'? aliases and platforms: bsky, fb, gb, ig, li, pin, snap, tg, tok, "
        "x, xpremium, twitter, linkedin, instagram, facebook, pinterest, tiktok, youtube, "
        "threads, bluesky, reddit, telegram, googlebusiness, snapchat)",
    ),
    (
        "unknown platform",
        "rules:\n  - accounts: [linkdin]\n    max_hashtags: 2\n",
        "orshot.yaml:17:16: error: rule '#1': 'linkdin' is neither an account alias nor a "
        "platform (did you mean 'linkedin'? aliases and platforms: bsky, fb, gb, ig, li, pin, "
        "snap, tg, tok, x, xpremium, twitter, linkedin, instagram, facebook, pinterest, tiktok, "
        "youtube, threads, bluesky, reddit, telegram, googlebusiness, snapchat)",
    ),
    (
        "bad regex",
        "rules:\n  - name: r\n    banned: ['/[oops/']\n",
        "orshot.yaml:18:14: error: rule 'r': /[oops/ is not a valid regular expression: "
        "unterminated character set (check the pattern's brackets and escapes: Python's re syntax)",
    ),
    (
        "bad duration",
        "rules:\n  - name: r\n    min_spacing: 2 hours\n",
        "orshot.yaml:18:18: error: rule 'r': min_spacing '2 hours' is not a duration "
        "(write it as 90m, 2h, 1d or 1h30m)",
    ),
    (
        "bad window",
        "rules:\n  - name: r\n    deny_windows: ['Mon-Fri 22:00']\n",
        "orshot.yaml:18:20: error: rule 'r': cannot read the window 'Mon-Fri 22:00' (write "
        "weekly hours as 'Mon-Fri 22:00-07:00' or 'daily 22:00-07:00', whole days as "
        "'2026-12-24' or '2026-12-24..2026-12-26', an embargo as 'until 2026-12-01T09:00')",
    ),
    (
        "bad day name",
        "rules:\n  - name: r\n    deny_windows: ['Mon-Fryday 22:00-07:00']\n",
        "orshot.yaml:18:20: error: rule 'r': cannot read the window 'Mon-Fryday 22:00-07:00' "
        "(write weekly hours as 'Mon-Fri 22:00-07:00' or 'daily 22:00-07:00', whole days as "
        "'2026-12-24' or '2026-12-24..2026-12-26', an embargo as 'until 2026-12-01T09:00')",
    ),
    (
        "unknown key in a rule",
        "rules:\n  - name: r\n    max_hashtag: 2\n",
        "orshot.yaml:18:5: error: rule 1: unknown key 'max_hashtag' (did you mean "
        "'max_hashtags'? keys: name, severity, accounts, when, override, banned, required, "
        "links, max_hashtags, max_mentions, min_spacing, deny_windows, alt_text)",
    ),
    (
        "a rule that checks nothing",
        "rules:\n  - name: r\n    accounts: [x]\n",
        "orshot.yaml:17:5: error: rule 1 checks nothing (add one of: banned, required, links, "
        "max_hashtags, max_mentions, min_spacing, deny_windows, alt_text)",
    ),
    (
        "bad severity",
        "rules:\n  - name: r\n    severity: block\n    max_hashtags: 1\n",
        "orshot.yaml:18:15: error: rule 'r': severity must be 'deny' or 'warn', not 'block' "
        "(deny makes a violation an error that stops apply; warn only reports it)",
    ),
    (
        "bad override",
        "rules:\n  - name: r\n    override: [legal]\n    max_hashtags: 1\n",
        "orshot.yaml:18:16: error: rule 'r': override 'legal' is not a GitHub user or team "
        "(write '@user' or '@org/team', quoted: YAML refuses a bare @)",
    ),
    (
        "a link domain that is a URL",
        "rules:\n  - name: r\n    links: {allowed_domains: ['https://acme.com']}\n",
        "orshot.yaml:18:30: error: rule 'r': 'https://acme.com' is not a domain name (write "
        "the host alone, e.g. acme.com (its subdomains are included))",
    ),
    (
        "two rules of one name",
        "rules:\n  - {name: r, max_hashtags: 1}\n  - {name: r, max_mentions: 1}\n",
        "orshot.yaml:18:12: error: rule name 'r' is also used by rule 1 (give each rule its "
        "own name: overrides and reports refer to it)",
    ),
]


@pytest.mark.parametrize(
    ("rules", "expected"), [c[1:] for c in BAD_RULES], ids=[c[0] for c in BAD_RULES]
)
def test_a_bad_rule_is_one_error_in_orshot_yaml_not_one_per_post(
    tmp_path: Path, rules: str, expected: str
) -> None:
    posts = {
        f"posts/p{n}.yaml": "accounts: [x, li]\ncontent: '#a #b #c @a @b'\nschedule: 2026-12-02T10:00\n"
        for n in range(3)
    }
    content_repo(tmp_path, posts, CONFIG + rules)
    report = validate_repo(tmp_path, NOW)
    assert [d.format() for d in report.diagnostics if d.path == "orshot.yaml"] == [expected]
    assert all(d.path == "orshot.yaml" or "rule 'r'" in d.message for d in report.diagnostics)


def test_no_rules_key_changes_nothing(tmp_path: Path) -> None:
    posts = {"posts/p.yaml": "accounts: [x]\ncontent: guaranteed #a #b #c https://evil.example\n"}
    content_repo(tmp_path, posts)
    assert validate_repo(tmp_path, NOW).diagnostics == ()


def test_sponsored_and_alt_text_leave_the_fingerprint_alone(tmp_path: Path) -> None:
    """Neither is sent to Orshot: adding them must not look like an edit of a held post."""
    plain = "accounts: [ig, x]\ncontent: hi\nmedia_urls: ['https://cdn.acme.com/1.png']\n"
    labelled = (
        "accounts: [ig, x]\ncontent: hi\nsponsored: true\n"
        "media_urls: [{url: 'https://cdn.acme.com/1.png', alt: A rocket}]\n"
    )
    content_repo(tmp_path, {"posts/a.yaml": plain, "posts/b.yaml": labelled})
    config, _ = load_config(tmp_path)
    assert config is not None
    specs, problems = load_posts(tmp_path, config, ["posts/a.yaml", "posts/b.yaml"])
    assert problems == []
    assert specs[1].sponsored and specs[1].media_alt == ("A rocket",)
    compiler = Compiler(config, TemplateEngine(None))
    fingerprints = []
    for spec in specs:
        post, _ = compiler.compile(spec)
        assert post is not None
        fingerprints.append([p.fingerprint for p in post.payloads])
    assert fingerprints[0] == fingerprints[1]
    assert specs[1].media_urls == ("https://cdn.acme.com/1.png",)


def test_overridable_violations_are_exposed_as_values(tmp_path: Path) -> None:
    posts = {
        "posts/p.yaml": "accounts: [x, li, fb]\ncontent: guaranteed #ad\n",
        "posts/q.yaml": "accounts: [x]\ncontent: '#a #b #c'\n",
    }
    content_repo(tmp_path, posts, CONFIG + RULES)
    report = validate_repo(tmp_path, NOW)
    config, _ = load_config(tmp_path)
    assert config is not None
    assert overridable(report.posts, config) == (
        Overridable("p", "li", "no-hype", ("@acme/legal",)),
        Overridable("p", "x", "no-hype", ("@acme/legal",)),
    )
    # A warning that says whose approval lifts it (apply holds the sends until then); the
    # hashtag rule has no override: still an error.
    assert (report.errors, report.warnings) == (1, 1)


def test_add_utm_keeps_the_links_query_and_fragment_and_a_written_utm_wins() -> None:
    url = "https://shop.acme.com/x?id=1&utm_campaign=spring&b=#top"
    assert add_utm(url, source="twitter", campaign="2026/launch", content="2026/launch") == (
        "https://shop.acme.com/x?id=1&utm_campaign=spring&b=&utm_source=twitter"
        "&utm_medium=social&utm_content=2026%2Flaunch#top"
    )
    with pytest.raises(UtmError):
        add_utm("mailto:a@acme.com", source="x", campaign="c", content="c")


def _compiled(tmp_path: Path, post: str, config: str = CONFIG) -> CompiledPost:
    content_repo(tmp_path, {"posts/2026/launch.yaml": post}, config)
    loaded, _ = load_config(tmp_path)
    assert loaded is not None
    specs, problems = load_posts(tmp_path, loaded, ["posts/2026/launch.yaml"])
    assert problems == []
    compiled, problems = Compiler(loaded, TemplateEngine(None)).compile(specs[0])
    assert compiled is not None, problems
    return compiled


def test_the_utm_filter_gives_each_platform_its_own_link(tmp_path: Path) -> None:
    post = "accounts: [x, xpremium, li]\ncontent: \"New: {{ 'https://acme.com/v2' | utm }}\"\n"
    captions = {p.account.alias: p.content for p in _compiled(tmp_path, post).payloads}
    assert captions == {
        "x": "New: https://acme.com/v2?utm_source=twitter&utm_medium=social"
        "&utm_campaign=2026%2Flaunch&utm_content=2026%2Flaunch",
        "xpremium": captions["x"],  # one platform, one caption: they still share a post
        "li": "New: https://acme.com/v2?utm_source=linkedin&utm_medium=social"
        "&utm_campaign=2026%2Flaunch&utm_content=2026%2Flaunch",
    }


def test_the_utm_campaign_is_the_campaign_variable_when_one_is_defined(tmp_path: Path) -> None:
    post = "accounts: [x]\ncontent: \"{{ 'https://acme.com' | utm }}\"\nvars: {campaign: spring}\n"
    (payload,) = _compiled(tmp_path, post).payloads
    assert payload.content == (
        "https://acme.com?utm_source=twitter&utm_medium=social&utm_campaign=spring"
        "&utm_content=2026%2Flaunch"
    )


@pytest.mark.parametrize(
    ("post", "expected"),
    [
        (
            "accounts: [x]\ncontent: \"{{ 'see acme.com' | utm }}\"\n",
            "posts/p.yaml:2:10: error: | utm needs an http(s) link, not 'see acme.com'",
        ),
        (
            "accounts: [x]\ncontent: hi\nrender:\n  template: 7\n"
            "  modifications: {link: \"{{ 'https://acme.com' | utm }}\"}\n",
            "posts/p.yaml:5:25: error: | utm needs the platform, known only in the caption and "
            "platform_options (not in render modifications)",
        ),
    ],
)
def test_the_utm_filter_misused_is_one_line_not_a_traceback(
    tmp_path: Path, post: str, expected: str
) -> None:
    content_repo(tmp_path, {"posts/p.yaml": post})
    assert [d.format() for d in validate_repo(tmp_path, NOW).diagnostics] == [expected]


def test_spacing_and_rules_hold_across_the_parallel_workers(tmp_path: Path) -> None:
    """A large repository is checked by forked workers (validate.py): the rules travel to
    them, and two posts checked by different workers are still compared for spacing."""
    from orshot_gitops.content import validate

    count = validate.PARALLEL_MIN_FILES + 200
    posts = {f"posts/p{n:04d}.yaml": f"accounts: [fb]\ncontent: post {n}\n" for n in range(count)}
    posts["posts/p0001.yaml"] = "accounts: [x]\ncontent: one\nschedule: 2026-12-02T10:00\n"
    posts[f"posts/p{count - 1:04d}.yaml"] = (
        "accounts: [x]\ncontent: guaranteed\nschedule: 2026-12-02T11:00\n"
    )
    content_repo(tmp_path, posts, CONFIG + RULES)
    assert validate._jobs(count) > 1 or pytest.skip("one core: no workers to cross")
    lines = [d.format() for d in validate_repo(tmp_path, NOW, keep_posts=False).diagnostics]
    last = f"posts/p{count - 1:04d}.yaml"
    assert lines == [
        f"{last}:2:10: warning: 'guaranteed' is banned (on x): denied by rule 'no-hype' "
        "(held until approved by @acme/legal) (reword the caption)",
        f"{last}:3:11: error: on x, 1h from post 'p0001' (2026-12-02 09:00 UTC); at least 2h "
        "apart: denied by rule 'spacing' (move one of the two schedules)",
    ]


@pytest.mark.parametrize(
    ("post", "expected"),
    [
        (
            "accounts: [x]\ncontent: hi\nmedia_urls:\n  - {url: 'https://a.com/x.png', alts: A}\n",
            "posts/p.yaml:4:34: error: unknown key 'alts' in media_urls.0 (did you mean 'alt'? allowed keys: alt, url)",
        ),
        (
            "accounts: [x]\ncontent: hi\nmedia_url: {url: pic.png, alt: A}\n",
            "posts/p.yaml:3:18: error: media_url.url: 'pic.png' is not a valid URL "
            '(for example: "https://cdn.acme.com/slide-1.png")',
        ),
        (
            "accounts: [x]\ncontent: hi\nmedia_url: {alt: A}\n",
            "posts/p.yaml:3:12: error: missing required key 'url' in media_url "
            '(for example: "https://cdn.acme.com/slide-1.png")',
        ),
        (
            "accounts: [x]\ncontent: hi\nmedia_url: pic.png\n",
            "posts/p.yaml:3:12: error: media_url: 'pic.png' is not a valid URL "
            '(for example: "https://cdn.acme.com/launch.png")',
        ),
    ],
)
def test_a_media_item_with_alt_text_is_checked_like_a_url(
    tmp_path: Path, post: str, expected: str
) -> None:
    content_repo(tmp_path, {"posts/p.yaml": post})
    assert [d.format() for d in validate_repo(tmp_path, NOW).diagnostics] == [expected]
