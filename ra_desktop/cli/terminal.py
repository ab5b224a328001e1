"""Headless output that cannot drive the terminal: control characters from a file are shown, not obeyed.

Patient names, IDs and file names reach ``inspect``, ``predict`` and ``report`` output. A tag
holding ``ESC ] 0 ; … BEL`` or ``ESC [ 2 J`` would retitle or clear the reader's terminal, and
bidirectional overrides would reorder what is printed. While a command runs, stdout and stderr
escape every such character visibly (``\\x1b``, ``\\u202e``); newline, tab and carriage return
(progress bars) pass.
"""
from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def escape_controls(text: str) -> str:
    return _CONTROLS.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)


class _EscapingStream:
    """A text stream that escapes control characters, otherwise the stream it wraps."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(escape_controls(text))
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str):  # flush, isatty, fileno, encoding, ...
        return getattr(self._stream, name)


@contextmanager
def escaped_output() -> Iterator[None]:
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _EscapingStream(sys.stdout), _EscapingStream(sys.stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
