"""What `validate` (and the plan) refuse beyond the schema, one sentence each, by diagnostic
code: docs/posts.md lists them (`python -m orshot_gitops.docs`), and tests/test_docs.py keeps
every code the bad-input corpus produces in this list."""

from __future__ import annotations

# (code, what is refused and what to do), in the order a writer meets them.
REFUSALS: tuple[tuple[str, str], ...] = (
    ("yaml-syntax", "A file that is not YAML, with where the parser stopped."),
    ("duplicate-key", "A key written twice in one mapping."),
    ("empty-file", "A post file with nothing in it."),
    ("not-a-mapping", "A post file whose top level is not `key: value` lines."),
    ("yaml-tag", "A YAML tag (`!!python/...`): posts hold plain values only."),
    ("alias-bomb", "YAML aliases that expand past 100,000 values."),
    (
        "schema",
        "A key, type or value the schema refuses, said in a sentence, with the closest known "
        "key or value (\"did you mean 'schedule'?\").",
    ),
    (
        "unknown-account",
        "An account that `orshot.yaml` does not list (with the closest alias).",
    ),
    (
        "timezone",
        "A timezone that is not an IANA name (with the closest one; a name in the wrong case "
        "is matched first). A bad default in `orshot.yaml` is reported once, at its line.",
    ),
    (
        "account-id-twice",
        "In `orshot.yaml`, one account id under two aliases on different platforms.",
    ),
    (
        "template-undefined",
        "A template variable that is not defined (with the closest of the post's vars, "
        "`orshot.yaml`'s vars and the built-ins); a macro of a template imported without "
        "`with context`, which cannot see the post's vars, is said so.",
    ),
    ("template-syntax", "A template that does not parse (an unclosed `{% if %}`)."),
    (
        "template-sandbox",
        "A template reaching for Python internals (`__class__`): the sandbox refuses it.",
    ),
    ("template-include", "An `{% include %}` or `{% import %}` of a file outside `templates/`."),
    ("template-limit", "A template that loops or builds past its limits."),
    (
        "caption-too-long",
        "A caption over its platform's limit (X weighs URLs as 23 and emoji as 2).",
    ),
    ("content-too-long", "A caption over Orshot's 5,000 characters, whatever the platform."),
    ("title-too-long", "A Pinterest title over 100 characters."),
    (
        "media",
        "Media a platform refuses: no media where it has no text-only post (Instagram, "
        "Pinterest, TikTok, YouTube, Snapchat), a format it does not take (`.tiff`, `.webp` "
        "to Instagram), too many or too few images, video where it takes none, images and "
        "videos in one post where it cannot mix them (all but Instagram, Threads, Telegram).",
    ),
    (
        "media-type",
        "A media URL whose extension is no image or video format (`.txt`, `.html`); a URL "
        "without an extension is left to Orshot.",
    ),
    ("option-unsupported", "A `platform_options` key the account's platform does not have."),
    ("option-untargeted", "`platform_options` for an account the post does not target."),
    ("tiktok-settings", "Two TikTok accounts of one post given different options."),
    (
        "option-rendered",
        "A `platform_options` value whose template renders empty, or a Pinterest `link` that "
        "does not render to an http(s) URL (the template itself, `{{ shop }}/x`, is fine).",
    ),
    ("schedule-invalid", "A schedule that is not an ISO 8601 date and time."),
    (
        "schedule-skipped",
        "A wall time a DST change skips in the post's timezone (2027-03-14T02:30 in "
        "America/New_York), with the time it would become.",
    ),
    (
        "schedule-repeated",
        "A warning: a wall time a DST change repeats (2026-11-01T01:30 in America/New_York), "
        "naming both instants; the first is used unless the time carries the offset of the "
        "other.",
    ),
    (
        "schedule-offset",
        "A schedule whose explicit offset disagrees with the post's own `timezone:` at that "
        "instant.",
    ),
    (
        "schedule-too-soon",
        "A schedule less than about 6 minutes ahead: Orshot's 60 seconds, the request's trip "
        "and up to 5 minutes apply may wait on the rate limit. The hint gives the earliest "
        "safe time in the post's timezone. Posts the state records are not checked.",
    ),
    (
        "schedule-past",
        "A schedule that has passed, for a post the state does not record as sent.",
    ),
    (
        "duplicate-content",
        "A `revision` bump that would send an account the same caption and media as its "
        "live post: the platform refuses duplicate content, so change the text.",
    ),
    (
        "queue-invalid",
        "In `orshot.yaml`, a queue it cannot read (a slot, a key, a stagger, a jitter over 1h), "
        "or an account in two queues at one level (docs/queues.md).",
    ),
    ("no-queue", "`schedule: next` on an account that no queue in `orshot.yaml` covers."),
    (
        "no-free-slot",
        "`schedule: next` with every slot of the account's queue for three years taken, in a "
        "deny window or too close to another post (`min_spacing`).",
    ),
    (
        "batch-duplicate",
        "Two rows of one batch sending one account the same caption and media (the platform "
        "refuses duplicate content): at the later row, naming the earlier.",
    ),
    # Recurring posts (`repeat:`, content/recurrence.py and recurrence_checks.py).
    ("repeat-schedule", "A `repeat:` without a `schedule`: the first occurrence's date and time."),
    (
        "repeat-every",
        "A `repeat.every` that is no interval of days, weeks or months (`1d`, `2w`, `1mo`), "
        "or one shorter than a day: an occurrence is named by its date.",
    ),
    ("repeat-end", "`repeat` with both `until` and `count`: one says where the series ends."),
    ("repeat-until", "A `repeat.until` before the first occurrence."),
    (
        "repeat-date",
        "A `skip` or `overrides` date that is not a date of the series (with the nearest one), "
        "not a calendar date, or an override of a skipped date.",
    ),
    ("repeat-override", "An override's `media_urls` on a post that publishes a render."),
    (
        "repeat-revision",
        "A `revision` on a recurring post: a bump would re-send every occurrence that went out.",
    ),
    (
        "repeat-too-many",
        "A series of more than 5,000 occurrences up to the horizon: end it and start a new file.",
    ),
    ("repeat-only", "`variants` or `overrides` on a post that does not repeat."),
    (
        "post-id-at",
        "A post file whose name ends in `@YYYY-MM-DD`: `<file id>@<date>` names a recurring "
        "post's occurrence, and one id cannot be two posts.",
    ),
    (
        "repeat-duplicate",
        "Two occurrences sending one account the same caption and media (Orshot refuses "
        "duplicate content): an error without `variants`, a warning when the rotation comes "
        "round again.",
    ),
)
