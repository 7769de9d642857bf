"""Terminal output: colour only where it helps and is wanted (NO_COLOR, not a tty, --no-color)."""

from __future__ import annotations

import os
import sys
from typing import TextIO

_CODES = {"red": "31", "yellow": "33", "green": "32", "bold": "1", "dim": "2", "cyan": "36"}


def use_color(stream: TextIO, env: dict[str, str] | None = None) -> bool:
    """https://no-color.org: any non-empty NO_COLOR disables colour; so does a non-terminal."""
    env = dict(os.environ) if env is None else env
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty() and env.get("TERM") != "dumb"


class Console:
    def __init__(
        self, out: TextIO | None = None, err: TextIO | None = None, color: bool | None = None
    ):
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.color = use_color(self.out) if color is None else color

    def style(self, text: str, *styles: str) -> str:
        if not self.color or not styles:
            return text
        codes = ";".join(_CODES[s] for s in styles)
        return f"\033[{codes}m{text}\033[0m"

    def print(self, text: str = "") -> None:
        print(text, file=self.out)

    def error(self, text: str) -> None:
        print(text, file=self.err)
