"""ICS feeds (RFC 5545) of the dated posts: one for every account, one per account.

Written with `icalendar`: line folding, text escaping (a caption's newlines, commas and
semicolons) and each zone's VTIMEZONE are its job, done right, rather than ours. A caption
cannot end its event early: it is a TEXT value, escaped, never a line of its own.

Stable by construction, so a calendar app that subscribes updates events rather than
duplicating them, and two builds give the same bytes:
- UID: a hash of the post id and the account alias (a post's account keeps its event when
  its time or caption changes);
- DTSTAMP: the post's own moment, not the build's clock (no drift between builds).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import timedelta, timezone

import icalendar

from orshot_gitops.report.site.calendar import Entry

PRODID = "-//orshot-gitops//preview//EN"
# Long enough to show as a block in a calendar app; a post has no duration of its own.
EVENT_LENGTH = timedelta(minutes=15)
SUMMARY_CHARS = 60


# RFC 5545 allows no control character in a TEXT value but the tab (and the line breaks it
# escapes); a bare CR is a line break to some readers. They are shown as U+FFFD.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def ics_text(text: str) -> str:
    return _CONTROLS.sub("\ufffd", text.replace("\r\n", "\n").replace("\r", "\n"))


def event_uid(post_id: str, account: str) -> str:
    digest = hashlib.sha256(f"{post_id}\0{account}".encode()).hexdigest()[:32]
    return f"{digest}@orshot-gitops"


def summary_of(entry: Entry) -> str:
    """ "acme-x: the caption's first line", cut at SUMMARY_CHARS characters."""
    first_line = ics_text(entry.item.caption).strip().split("\n", 1)[0]
    if len(first_line) > SUMMARY_CHARS:
        first_line = first_line[: SUMMARY_CHARS - 1] + "…"
    return f"{entry.item.account}: {first_line}" if first_line else entry.item.account


def feed(entries: Sequence[Entry], name: str) -> bytes:
    """The feed of these entries (each at its moment, with its zone), as bytes."""
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    for entry in sorted(entries, key=lambda e: (e.local, e.item.post_id, e.item.account)):
        item = entry.item
        event = icalendar.Event()
        event.add("uid", event_uid(item.post_id, item.account))
        event.add("dtstamp", entry.local.astimezone(timezone.utc))
        event.add("dtstart", entry.local)
        event.add("duration", EVENT_LENGTH)
        event.add("summary", ics_text(summary_of(entry)))
        event.add("description", ics_text(item.caption))
        event.add("categories", [item.platform, item.standing.value])
        event.add("status", "CONFIRMED")
        if item.url and item.url.startswith(("https://", "http://")):
            event.add("url", item.url)
        cal.add_component(event)
    cal.add_missing_timezones()
    return bytes(cal.to_ical())
