"""The bad-input corpus: every class of mistake gets exactly one clear error at the right place."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from repo_fixtures import CONFIG, content_repo

from orshot_gitops.content.validate import validate_repo

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
LONG_WORDS = " ".join(["word"] * 60)  # 299 characters

# (name, post file text, the one expected diagnostic)
CASES = [
    (
        "yaml syntax",
        "accounts: [x]\ncontent: 'unclosed\n",
        "posts/p.yaml:3:1: error: YAML syntax error: found unexpected end of stream "
        "(check indentation, quoting and that ':' is followed by a space)",
    ),
    (
        "duplicate key",
        "accounts: [x]\ncontent: one\ncontent: two\n",
        "posts/p.yaml:3:1: error: duplicate key 'content' "
        "(a key may appear once per mapping: remove or merge the repeated one)",
    ),
    (
        "duplicate nested key",
        "accounts: [li]\ncontent: hi\nplatform_options:\n  li:\n    firstComment: a\n    firstComment: b\n",
        "posts/p.yaml:6:5: error: duplicate key 'firstComment' "
        "(a key may appear once per mapping: remove or merge the repeated one)",
    ),
    (
        "empty file",
        "# nothing yet\n",
        "posts/p.yaml:1:1: error: file is empty "
        "(add the post's keys, at least 'accounts' and 'content', or delete the file)",
    ),
    (
        "top level is a list",
        "- accounts: [x]\n",
        "posts/p.yaml:1:1: error: the top level must be a mapping of keys to values "
        "(write 'key: value' lines such as 'content: ...')",
    ),
    (
        "python tag",
        "accounts: [x]\ncontent: !!python/object/apply:os.system ['echo hi']\n",
        "posts/p.yaml:2:10: error: unsupported YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' "
        "(remove the tag: posts hold plain text, numbers, lists and mappings)",
    ),
    (
        "alias bomb",
        "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
        "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
        "f: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
        "posts/p.yaml:1:35: error: the file expands to more than 100,000 values (YAML aliases) "
        "(remove the repeated '*alias' references)",
    ),
    (
        "unknown key",
        "accounts: [x]\ncontent: hi\nschedul: 2027-01-01T10:00\n",
        "posts/p.yaml:3:1: error: unknown key 'schedul' (did you mean 'schedule'? "
        "allowed keys: accounts, content, draft, for_each, id, media_url, media_urls, overrides, "
        "platform_options, render, repeat, revision, schedule, sponsored, timezone, variants, vars)",
    ),
    (
        "missing content",
        "accounts: [x]\n",
        "posts/p.yaml:1:1: error: missing required key 'content' "
        '(for example: "{{ product }} {{ version }} is live! {{ link }}")',
    ),
    (
        "wrong type",
        "accounts: [x]\ncontent: hi\ndraft: maybe\n",
        "posts/p.yaml:3:8: error: draft must be a boolean, not a string (for example: true)",
    ),
    (
        "empty accounts",
        "accounts: []\ncontent: hi\n",
        'posts/p.yaml:1:11: error: accounts must not be empty (for example: ["acme-x", "acme-linkedin"])',
    ),
    (
        "an account listed twice",
        "accounts: [x, li, x]\ncontent: hi\n",
        "posts/p.yaml:1:11: error: accounts lists 'x' more than once (remove the repeated entry)",
    ),
    (
        "an empty caption",
        "accounts: [x]\ncontent: ''\n",
        "posts/p.yaml:2:10: error: content must not be empty "
        '(for example: "{{ product }} {{ version }} is live! {{ link }}")',
    ),
    (
        "revision below 1",
        "accounts: [x]\ncontent: hi\nrevision: 0\n",
        "posts/p.yaml:3:11: error: revision must be at least 1, not 0 (for example: 2)",
    ),
    (
        "options for an account left empty",
        "accounts: [li]\ncontent: hi\nplatform_options:\n  li: {}\n",
        "posts/p.yaml:4:7: error: platform_options.li must not be empty "
        "(give it a value, or remove the key)",
    ),
    (
        "a render format misspelt",
        "accounts: [x]\ncontent: hi\nrender: {template: 1, format: jepg}\n",
        "posts/p.yaml:3:31: error: render.format: 'jepg' is not one of png, jpg, jpeg, webp, avif, "
        "pdf, gif, mp4, webm, mov, mkv (did you mean 'jpg'?)",
    ),
    (
        "media and render together",
        "accounts: [x]\ncontent: hi\nmedia_url: https://a.example/x.png\nrender: {template: 123}\n",
        "posts/p.yaml:4:1: error: media_url and render cannot be combined "
        "(keep one of media_url (one image), media_urls (a carousel) and render)",
    ),
    (
        "media url not a url",
        "accounts: [x]\ncontent: hi\nmedia_url: pic.png\n",
        "posts/p.yaml:3:12: error: media_url: 'pic.png' is not a valid URL "
        '(for example: "https://cdn.acme.com/launch.png")',
    ),
    (
        "template syntax error inside a block",
        "accounts: [x]\ncontent: |\n  line one\n  {% if product %}\n  never closed\n",
        "posts/p.yaml:4:3: error: Unexpected end of template. Jinja was looking for the following tags: "
        "'elif' or 'else' or 'endif'. The innermost block that needs to be closed is 'if'. (check the {{ }} and {% %} tags)",
    ),
    (
        "undefined variable",
        "accounts: [x]\ncontent: |\n  Hello\n  {{ prodcut }} is here\n",
        "posts/p.yaml:4:3: error: undefined variable 'prodcut' "
        "(did you mean 'product'? define it in this post's 'vars' or in orshot.yaml 'vars')",
    ),
    (
        "undefined variable in an included snippet",
        "accounts: [x]\ncontent: |\n  Hello\n  {% include 'uses-missing.j2' %}\n",
        "posts/p.yaml:4:3: error: undefined variable 'not_defined' (in templates/uses-missing.j2:2) "
        "(define it in this post's 'vars' or in orshot.yaml 'vars')",
    ),
    (
        "sandbox violation",
        'accounts: [x]\ncontent: "{{ product.__class__.__mro__ }}"\n',
        "posts/p.yaml:2:10: error: not allowed in a template: access to attribute '__class__' of 'str' "
        "object is unsafe. (templates may only use variables, filters and tests, not Python internals)",
    ),
    (
        "include from outside templates/",
        "accounts: [x]\ncontent: \"{% include '../orshot.yaml' %}\"\n",
        "posts/p.yaml:2:10: error: template '../orshot.yaml' not found "
        "(snippets must be files inside the templates directory)",
    ),
    (
        "runaway loop",
        "accounts: [x]\ncontent: |\n  {% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}\n",
        "posts/p.yaml:3:3: error: the template loops more than 100,000 times (simplify the template)",
    ),
    (
        "gigantic string",
        "accounts: [x]\ncontent: \"{{ 'ha' * 100000000 }}\"\n",
        "posts/p.yaml:2:10: error: '*' would build more than 100,000 items (simplify the template)",
    ),
    (
        "unknown account alias",
        "accounts: [x, acme-tiktok]\ncontent: hi\n",
        "posts/p.yaml:1:15: error: unknown account 'acme-tiktok' "
        "(known accounts: bsky, fb, gb, ig, li, pin, snap, tg, tok, x, xpremium)",
    ),
    (
        "account id not in orshot.yaml",
        "accounts: [77]\ncontent: hi\n",
        "posts/p.yaml:1:12: error: account id 77 is not listed in orshot.yaml "
        "(add it under 'accounts:' in orshot.yaml so its platform is known)",
    ),
    (
        "options for an account not targeted",
        "accounts: [x]\ncontent: hi\nplatform_options:\n  li: {firstComment: hello}\n",
        "posts/p.yaml:4:3: error: platform_options for 'li', which this post does not target "
        "(add the account to 'accounts' or remove its options)",
    ),
    (
        "option the platform does not have",
        "accounts: [x]\ncontent: hi\nplatform_options:\n  x: {firstComment: hello}\n",
        "posts/p.yaml:4:7: error: X/Twitter account 'x' has no option 'firstComment' (X/Twitter takes no options)",
    ),
    (
        "content over Orshot's 5,000",
        f'accounts: [fb]\ncontent: "{"a" * 5001}"\n',
        "posts/p.yaml:2:10: error: caption for 'fb' is 5,001 characters; Orshot accepts at most 5,000 "
        "(shorten the caption)",
    ),
    (
        "X caption, weighted",
        'accounts: [x]\ncontent: "' + "😀" * 141 + '"\n',
        "posts/p.yaml:2:10: error: caption for X/Twitter account 'x' is 282 characters "
        "(weighted: URLs count 23, emoji 2); the limit is 280 (shorten it, or give this platform its "
        "own text with {% if platform == 'twitter' %})",
    ),
    (
        "Bluesky 300",
        f'accounts: [bsky]\ncontent: "{LONG_WORDS} xy"\n',
        "posts/p.yaml:2:10: error: caption for Bluesky account 'bsky' is 302 characters; the limit is 300 "
        "(shorten it, or give this platform its own text with {% if platform == 'bluesky' %})",
    ),
    (
        "Telegram caption under media",
        f'accounts: [tg]\ncontent: "{"a" * 1025}"\nmedia_url: https://a.example/x.png\n',
        "posts/p.yaml:2:10: error: caption for Telegram account 'tg' is 1,025 characters; the limit is "
        "1,024 (shorten it, or give this platform its own text with {% if platform == 'telegram' %})",
    ),
    (
        "Snapchat 160 (an assumption: Orshot gives no figure)",
        f'accounts: [snap]\ncontent: "{"a" * 161}"\nmedia_url: https://a.example/x.png\n',
        "posts/p.yaml:2:10: error: caption for Snapchat account 'snap' is 161 characters; the limit "
        "is 160 (shorten it, or give this platform its own text with {% if platform == 'snapchat' %})",
    ),
    (
        "Snapchat takes one photo",
        "accounts: [snap]\ncontent: hi\nmedia_urls:\n  - https://a.example/1.png\n"
        "  - https://a.example/2.png\n",
        "posts/p.yaml:4:3: error: Snapchat takes at most 1 image, this post has 2 (account 'snap') "
        "(split the carousel or remove the account)",
    ),
    (
        "Pinterest title over 100",
        f"accounts: [pin]\ncontent: hi\nmedia_url: https://a.example/x.png\n"
        f'platform_options:\n  pin:\n    title: "{"t" * 101}"\n',
        "posts/p.yaml:6:12: error: Pinterest title for 'pin' is 101 characters; the limit is 100 "
        "(shorten the title)",
    ),
    (
        "too many images",
        "accounts: [x]\ncontent: hi\nmedia_urls:\n"
        + "".join(f"  - https://a.example/{i}.png\n" for i in range(5)),
        "posts/p.yaml:4:3: error: X/Twitter takes at most 4 images, this post has 5 (account 'x') "
        "(split the carousel or remove the account)",
    ),
    (
        "webp on Instagram",
        "accounts: [ig]\ncontent: hi\nmedia_url: https://a.example/pic.webp\n",
        "posts/p.yaml:3:12: error: Instagram does not accept webp images (account 'ig') (use jpeg or png)",
    ),
    (
        "PDF anywhere",
        "accounts: [li]\ncontent: hi\nrender: {template: 123, format: pdf}\n",
        "posts/p.yaml:3:33: error: PDF cannot be posted on any platform (account 'li') "
        "(render or upload an image instead)",
    ),
    (
        "video on Google Business",
        "accounts: [gb]\ncontent: hi\nmedia_url: https://a.example/clip.mp4\n",
        "posts/p.yaml:3:12: error: Google Business does not accept video (mp4) (account 'gb') (use an image)",
    ),
    (
        "avif where the guidelines list no avif",
        "accounts: [x]\ncontent: hi\nrender: {template: 123, format: avif}\n",
        "posts/p.yaml:3:33: error: X/Twitter does not accept avif images (account 'x') "
        "(use gif or jpeg or png or webp)",
    ),
    (
        "single image on TikTok",
        "accounts: [tok]\ncontent: hi\nmedia_url: https://a.example/pic.png\n",
        "posts/p.yaml:3:12: error: TikTok takes still images only as a photo carousel of 2 to 35, "
        "this post has 1 (account 'tok') "
        "(add images (media_urls), post a video there, or remove the account)",
    ),
    (
        "GIF carousel on TikTok",
        "accounts: [tok]\ncontent: hi\nmedia_urls: [https://a.example/1.gif, https://a.example/2.gif]\n",
        "posts/p.yaml:3:13: error: TikTok does not accept gif images (account 'tok') "
        "(use jpeg or png or webp)",
    ),
    (
        "TikTok carousel over 35",
        "accounts: [tok]\ncontent: hi\nmedia_urls: ["
        + ", ".join(f"https://a.example/{i}.jpg" for i in range(36))
        + "]\n",
        "posts/p.yaml:3:13: error: TikTok takes at most 35 images, this post has 36 (account 'tok') "
        "(split the carousel or remove the account)",
    ),
    (
        "text-only post to Instagram",
        "accounts: [x, ig]\ncontent: hi\n",
        "posts/p.yaml:1:15: error: Instagram has no text-only post: it needs an image or a video "
        "(account 'ig') (add media_url, media_urls or render, or remove the account from this post)",
    ),
    (
        "text-only post to Pinterest",
        "accounts: [pin]\ncontent: hi\n",
        "posts/p.yaml:1:12: error: Pinterest has no text-only post: it needs an image or a video "
        "(account 'pin') (add media_url, media_urls or render, or remove the account from this post)",
    ),
    (
        "text-only post to TikTok",
        "accounts: [tok]\ncontent: hi\n",
        "posts/p.yaml:1:12: error: TikTok has no text-only post: it needs an image or a video "
        "(account 'tok') (add media_url, media_urls or render, or remove the account from this post)",
    ),
    (
        "tiff on Instagram",
        "accounts: [ig]\ncontent: hi\nmedia_url: https://a.example/pic.tiff\n",
        "posts/p.yaml:3:12: error: Instagram does not accept tiff images (account 'ig') (use jpeg or png)",
    ),
    (
        "a file that is no media at all",
        "accounts: [x]\ncontent: hi\nmedia_urls: [https://a.example/1.png, https://a.example/notes.txt]\n",
        "posts/p.yaml:3:39: error: '.txt' is not a media type any platform takes "
        "(https://a.example/notes.txt) "
        "(link an image (jpg, png, webp, gif) or a video (mp4, webm, mov, mkv) file)",
    ),
    (
        "images and a video together on X",
        "accounts: [x]\ncontent: hi\nmedia_urls: [https://a.example/1.png, https://a.example/2.mp4]\n",
        "posts/p.yaml:3:13: error: X/Twitter does not take images and videos in one post "
        "(account 'x') (post the images and the video separately, or remove the account)",
    ),
    (
        "an account alias one letter off",
        "accounts: [x, bksy]\ncontent: hi\n",
        "posts/p.yaml:1:15: error: unknown account 'bksy' (did you mean 'bsky'? "
        "known accounts: bsky, fb, gb, ig, li, pin, snap, tg, tok, x, xpremium)",
    ),
    (
        "a timezone in the wrong case",
        "accounts: [x]\ncontent: hi\nschedule: 2027-01-01T10:00\ntimezone: europe/paris\n",
        "posts/p.yaml:4:11: error: unknown timezone 'europe/paris' (did you mean 'Europe/Paris'? "
        "use an IANA name such as 'America/New_York' or 'Europe/Berlin')",
    ),
    (
        "a timezone misspelt",
        "accounts: [x]\ncontent: hi\nschedule: 2027-01-01T10:00\ntimezone: America/New_Yrok\n",
        "posts/p.yaml:4:11: error: unknown timezone 'America/New_Yrok' (did you mean "
        "'America/New_York'? use an IANA name such as 'America/New_York' or 'Europe/Berlin')",
    ),
    (
        "a template variable misspelt",
        'accounts: [x]\ncontent: "{{ prodcut }} ships"\n',
        "posts/p.yaml:2:10: error: undefined variable 'prodcut' (did you mean 'product'? "
        "define it in this post's 'vars' or in orshot.yaml 'vars')",
    ),
    (
        "a template variable close to a post's own var",
        "accounts: [x]\ncontent: \"{{ verison }}\"\nvars: {version: '2.0'}\n",
        "posts/p.yaml:2:10: error: undefined variable 'verison' (did you mean 'version'? "
        "define it in this post's 'vars' or in orshot.yaml 'vars')",
    ),
    (
        "a built-in misspelt",
        'accounts: [x]\ncontent: "{{ platfrom }}"\n',
        "posts/p.yaml:2:10: error: undefined variable 'platfrom' (did you mean 'platform'? "
        "define it in this post's 'vars' or in orshot.yaml 'vars')",
    ),
    (
        "a macro imported without context",
        "accounts: [x]\ncontent: |\n  Out now\n  {% import 'macros.j2' as m %}{{ m.sig() }}\n",
        "posts/p.yaml:4:3: error: undefined variable 'product' (in templates/macros.j2:1) "
        "('product' is defined, but a macro from a template imported without 'with context' "
        "cannot see the post's vars: write {% import '...' as ... with context %} "
        "(or {% from '...' import ... with context %}))",
    ),
    (
        "a Pinterest link that renders to no URL",
        "accounts: [pin]\ncontent: hi\nmedia_url: https://a.example/x.png\nvars: {shop: shop.acme.com}\n"
        "platform_options:\n  pin: {link: '{{ shop }}/x'}\n",
        "posts/p.yaml:6:15: error: platform_options.pin.link renders to 'shop.acme.com/x' for 'pin', "
        "not one URL starting with https:// (no spaces, one line) "
        "(check the template and the vars it uses)",
    ),
    (
        "a Pinterest title that renders empty",
        "accounts: [pin]\ncontent: hi\nmedia_url: https://a.example/x.png\n"
        "platform_options:\n  pin: {title: \"{{ '' }}\"}\n",
        "posts/p.yaml:5:16: error: platform_options.pin.title renders to nothing for 'pin', "
        "not text (check the template and the vars it uses)",
    ),
    (
        "TikTok setting for LinkedIn",
        "accounts: [li]\ncontent: hi\nplatform_options:\n  li: {autoAddMusic: true}\n",
        "posts/p.yaml:4:8: error: LinkedIn account 'li' has no option 'autoAddMusic' "
        "(LinkedIn options: disableLinkPreview, firstComment)",
    ),
    (
        "TikTok setting of the wrong type",
        "accounts: [tok]\ncontent: hi\nmedia_url: https://a.example/c.mp4\n"
        "platform_options:\n  tok: {autoAddMusic: 'yes'}\n",
        "posts/p.yaml:5:23: error: platform_options.tok.autoAddMusic must be a boolean, not a string "
        "(for example: true)",
    ),
    (
        "invalid schedule",
        "accounts: [x]\ncontent: hi\nschedule: next tuesday\n",
        "posts/p.yaml:3:11: error: 'next tuesday' is not an ISO 8601 date and time "
        "(write it as 2026-12-01T09:00 (read in the post's timezone) or 2026-12-01T14:00:00Z)",
    ),
    (
        "unknown timezone",
        "accounts: [x]\ncontent: hi\nschedule: 2027-01-01T10:00\ntimezone: Mars/Olympus_Mons\n",
        "posts/p.yaml:4:11: error: unknown timezone 'Mars/Olympus_Mons' "
        "(use an IANA name such as 'America/New_York' or 'Europe/Berlin')",
    ),
    (
        "schedule closer than Orshot's 60 seconds plus the rate limit's waits",
        "accounts: [x]\ncontent: hi\nschedule: 2026-11-23T13:03\n",
        "posts/p.yaml:3:11: error: scheduled for 2026-11-23 12:03 UTC, too close to now "
        "(2026-11-23 12:00 UTC): Orshot refuses a schedule less than 60 seconds ahead, and apply "
        "may first wait up to 5 minutes on its rate limit "
        "(schedule it at 2026-11-23T13:07 (Europe/Berlin) or later, or remove it to publish on merge)",
    ),
    (
        "a time the clocks skip",
        "accounts: [x]\ncontent: hi\nschedule: 2027-03-14T02:30\ntimezone: America/New_York\n",
        "posts/p.yaml:3:11: error: 2027-03-14T02:30 does not exist in America/New_York: the clocks "
        "jump over it that night (offset -05:00 to -04:00) "
        "(write 2027-03-14T03:30, the time it becomes after the jump, or another time outside it)",
    ),
    (
        "a time that happens twice",
        "accounts: [x]\ncontent: hi\nschedule: 2027-11-07T01:30\ntimezone: America/New_York\n",
        "posts/p.yaml:3:11: warning: 2027-11-07T01:30 happens twice in America/New_York (the clocks "
        "go back that night): 2027-11-07T01:30-04:00 (05:30 UTC) and 2027-11-07T01:30-05:00 "
        "(06:30 UTC); the first is used "
        "(write the offset of the one you mean: 2027-11-07T01:30-04:00 or 2027-11-07T01:30-05:00)",
    ),
    (
        "an offset the post's timezone contradicts",
        "accounts: [x]\ncontent: hi\nschedule: 2027-01-10T09:00-05:00\ntimezone: Europe/Berlin\n",
        "posts/p.yaml:3:11: error: 2027-01-10T09:00-05:00 has the offset -05:00, but the post's "
        "timezone Europe/Berlin is +01:00 then: it would go out at 2027-01-10T15:00 Europe/Berlin "
        "(drop the offset to read the time in Europe/Berlin (2027-01-10T09:00), "
        "or write 2027-01-10T15:00+01:00 for the same instant)",
    ),
    (
        "schedule in the past",
        "accounts: [x]\ncontent: hi\nschedule: 2026-11-23T12:30\n",
        "posts/p.yaml:3:11: error: post 'p' is scheduled for 2026-11-23 11:30 UTC, which has passed "
        "(now 2026-11-23 12:00 UTC) (move the schedule into the future, or remove it to publish on merge)",
    ),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_mistake_gets_one_error_at_its_line(tmp_path: Path, text: str, expected: str) -> None:
    content_repo(tmp_path, {"posts/p.yaml": text})
    report = validate_repo(tmp_path, NOW)
    assert [d.format() for d in report.diagnostics] == [expected]


# orshot.yaml's own mistakes: (name, what replaces a line of CONFIG, the one diagnostic).
CONFIG_CASES = [
    (
        "a default timezone that does not exist, reported once",
        ("timezone: Europe/Berlin\n", "timezone: Europe/Berln\n"),
        "orshot.yaml:15:11: error: unknown timezone 'Europe/Berln' (did you mean 'Europe/Berlin'? "
        "use an IANA name such as 'America/New_York' or 'Europe/Berlin')",
    ),
    (
        "one account id under two platforms",
        ("  fb: {id: 4, platform: facebook}\n", "  fb: {id: 3, platform: facebook}\n"),
        "orshot.yaml:5:12: error: account id 3 is 'fb' on facebook and 'ig' on instagram: one "
        "Orshot account has one platform "
        "(check the ids with 'orshot-gitops accounts --format yaml' and fix one of them)",
    ),
    (
        "an orshot.yaml key misspelt",
        ("timezone: Europe/Berlin\n", "timezon: Europe/Berlin\n"),
        "orshot.yaml:15:1: error: unknown key 'timezon' (did you mean 'timezone'? allowed keys: "
        "accounts, api_key_env, approvals, approvals_without_github, horizon, paused, posts_dir, "
        "prune, queues, rules, templates_dir, "
        "timezone, vars)",
    ),
]


@pytest.mark.parametrize(
    ("change", "expected"), [c[1:] for c in CONFIG_CASES], ids=[c[0] for c in CONFIG_CASES]
)
def test_each_orshot_yaml_mistake_is_reported_once_at_its_line(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    assert change[0] in CONFIG
    posts = {f"posts/p{i}.yaml": "accounts: [x]\ncontent: hi\n" for i in range(13)}
    content_repo(tmp_path, posts, CONFIG.replace(*change))
    assert [d.format() for d in validate_repo(tmp_path, NOW).diagnostics] == [expected]


def test_two_aliases_of_one_account_on_one_platform_are_fine(tmp_path: Path) -> None:
    config = CONFIG.replace(
        "  x: {id: 1, platform: twitter}\n",
        "  x: {id: 1, platform: twitter}\n  brand-x: {id: 1, platform: twitter}\n",
    )
    content_repo(tmp_path, {"posts/p.yaml": "accounts: [brand-x]\ncontent: hi\n"}, config)
    assert validate_repo(tmp_path, NOW).diagnostics == ()


def test_jinja_in_an_option_is_checked_once_rendered(tmp_path: Path) -> None:
    text = "accounts: [pin]\ncontent: hi\nmedia_url: https://a.example/x.png\n"
    text += (
        "vars: {shop: 'https://shop.acme.com'}\nplatform_options:\n  pin: {link: '{{ shop }}/x'}\n"
    )
    content_repo(tmp_path, {"posts/p.yaml": text})
    report = validate_repo(tmp_path, NOW)
    assert report.diagnostics == ()
    assert [dict(p.platform_options) for p in report.posts[0].payloads] == [
        {"link": "https://shop.acme.com/x"}
    ]


@pytest.mark.parametrize(
    "link", ["javascript:{{ x }}", "{{ shop }} and more", "{{ shop }}\\nhttps://b.example"]
)
def test_a_link_template_must_render_to_one_url(tmp_path: Path, link: str) -> None:
    # The schema lets any template through; what it renders to is what is checked.
    text = "accounts: [pin]\ncontent: hi\nmedia_url: https://a.example/x.png\n"
    text += f'vars: {{shop: "https://shop.acme.com", x: "alert(1)"}}\nplatform_options:\n  pin: {{link: "{link}"}}\n'
    content_repo(tmp_path, {"posts/p.yaml": text})
    assert [d.code for d in validate_repo(tmp_path, NOW).diagnostics] == ["option-rendered"]


def test_a_macro_imported_with_context_sees_the_vars(tmp_path: Path) -> None:
    text = "accounts: [x]\ncontent: \"{% import 'macros.j2' as m with context %}{{ m.sig() }}\"\n"
    content_repo(tmp_path, {"posts/p.yaml": text})
    report = validate_repo(tmp_path, NOW)
    assert report.diagnostics == ()
    assert report.posts[0].payloads[0].content == "-- Acme"


@pytest.mark.parametrize(
    "render",
    [
        "{template: 123, format: mov}",
        "{template: 123, format: mkv}",
        "{template: 123, format: mp4}",
        "{template: 123, format: webm}",
    ],
)
def test_the_video_formats_orshot_renders_are_accepted_where_video_is(
    tmp_path: Path, render: str
) -> None:
    """Orshot renders mp4, webm, mov and mkv (and gif, avif): a platform that takes video
    takes each of them; only its own rules (Google Business: no video) refuse one."""
    content_repo(tmp_path, {"posts/p.yaml": f"accounts: [tok, x]\ncontent: hi\nrender: {render}\n"})
    report = validate_repo(tmp_path, NOW)
    assert [d.format() for d in report.diagnostics] == []


def test_instagram_takes_images_and_a_video_in_one_carousel(tmp_path: Path) -> None:
    text = "accounts: [ig]\ncontent: hi\nmedia_urls: [https://a.example/1.png, https://a.example/2.mp4]\n"
    content_repo(tmp_path, {"posts/p.yaml": text})
    assert validate_repo(tmp_path, NOW).diagnostics == ()


def test_a_media_url_without_an_extension_is_left_to_orshot(tmp_path: Path) -> None:
    text = "accounts: [x]\ncontent: hi\nmedia_url: https://cdn.example/image?id=3\n"
    content_repo(tmp_path, {"posts/p.yaml": text})
    assert validate_repo(tmp_path, NOW).diagnostics == ()


@pytest.mark.parametrize(
    "schedule", ["2027-11-07T01:30-04:00", "2027-11-07T01:30-05:00", "2026-11-23T13:07"]
)
def test_a_schedule_that_says_which_instant_it_means_is_valid(
    tmp_path: Path, schedule: str
) -> None:
    # The repeated hour with its offset (as the warning says to write it), and the earliest
    # safe time the too-soon hint gives: each is accepted as written.
    zone = "America/New_York" if "-0" in schedule else "Europe/Berlin"
    text = f"accounts: [x]\ncontent: hi\nschedule: {schedule}\ntimezone: {zone}\n"
    content_repo(tmp_path, {"posts/p.yaml": text})
    assert validate_repo(tmp_path, NOW).diagnostics == ()


def test_a_too_close_schedule_already_sent_is_not_reported(tmp_path: Path) -> None:
    # The state records it: it went out when it was far enough ahead.
    content_repo(
        tmp_path,
        {
            "posts/p.yaml": "accounts: [x]\ncontent: hi\nschedule: 2026-11-23T13:03\n",
            ".orshot/state/posts/p.json": "{}",
        },
    )
    assert validate_repo(tmp_path, NOW).diagnostics == ()


def test_a_tiktok_photo_carousel_with_its_settings_is_valid(tmp_path: Path) -> None:
    images = ", ".join(
        f"https://a.example/{i}.{ext}" for i, ext in enumerate(["jpg", "png", "webp"])
    )
    text = f"accounts: [tok]\ncontent: hi\nmedia_urls: [{images}]\n"
    text += "platform_options:\n  tok: {autoAddMusic: true}\n"
    content_repo(tmp_path, {"posts/p.yaml": text})
    assert validate_repo(tmp_path, NOW).diagnostics == ()


def test_two_tiktok_accounts_of_one_post_cannot_have_different_settings(tmp_path: Path) -> None:
    # Orshot takes one `tiktokSettings` per request: both accounts would get the same.
    config = CONFIG.replace(
        "  tok: {id: 6, platform: tiktok}\n",
        "  tok: {id: 6, platform: tiktok}\n  tok2: {id: 13, platform: tiktok}\n",
    )
    text = "accounts: [tok, tok2]\ncontent: hi\nmedia_url: https://a.example/c.mp4\n"
    text += "platform_options:\n  tok: {autoAddMusic: true}\n"
    content_repo(tmp_path, {"posts/p.yaml": text}, config)
    assert [d.format() for d in validate_repo(tmp_path, NOW).diagnostics] == [
        "posts/p.yaml:4:1: error: the TikTok accounts of one post are sent one set of settings "
        "(tiktokSettings), but this post gives them different ones "
        "(give them the same platform_options, or one post file per TikTok account)"
    ]
