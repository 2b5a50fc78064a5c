"""What every verb shares: unusable input is a one-line message and exit code 2."""

from __future__ import annotations

import argparse
import codecs
import contextlib
import math
import os
import sys

from .. import clock
from ..auth import SHORT_SECRET_NOTE, ChatAuthSettings, short_secret
from ..errors import ConfigurationError
from ..files import UnreadableFile, read_bytes, read_stream
from ..workstream import WorkStream

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_UNUSABLE = 2


class UsageProblem(Exception):
    """Input the command cannot use; ``main`` prints it on one line and exits 2."""


def finite_float(text: str) -> float:
    """An argparse type: a number that is not NaN or infinite (time arithmetic needs one)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def epoch_seconds_argument(text: str) -> float:
    """An argparse type: a moment in epoch seconds, refusing what reads as milliseconds."""
    value = finite_float(text)
    try:
        return clock.epoch_seconds(value)
    except ValueError as error:
        # Shown as the user typed it: 1e308, not Python's 1e+308.
        raise argparse.ArgumentTypeError(str(error).replace(repr(value), text, 1)) from None


def load_work_stream(path: str) -> WorkStream:
    """The work stream file at ``path``, or :class:`UsageProblem` (exit 2) saying why not."""
    try:
        return WorkStream.from_toml(path)
    except ConfigurationError as exc:
        raise UsageProblem(str(exc)) from None


# Windows PowerShell's `>` writes UTF-16 with a BOM, and Notepad may add one to UTF-8.
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _decode_text(data: bytes, what: str, source: str) -> str:
    """``data`` as text: UTF-8 with or without a BOM, or UTF-16 with one."""
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), "utf-8")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise UsageProblem(
            f"cannot read {what} from {source}: it is neither UTF-8 nor UTF-16 with a BOM "
            f"({exc.reason} at byte {exc.start})"
        ) from None
    # NULs decode as UTF-8 but are no text: most likely UTF-16 (or UTF-32) without a BOM.
    if "\0" in text:
        raise UsageProblem(
            f"cannot read {what} from {source}: it holds NUL characters "
            "(UTF-16 without a BOM? save it as UTF-8)"
        )
    return text


class OutputFailed(Exception):
    """Writing the output failed, other than a closed pipe (a full disk): exit 74."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error.strerror or str(error))


def drop_stdout() -> None:
    """Point stdout at devnull, so the flush at shutdown cannot fail (and print) again."""
    with contextlib.suppress(AttributeError, OSError, ValueError):  # no stream, no descriptor
        fileno = sys.stdout.fileno()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fileno)
        os.close(devnull)


def path_argument(text: str) -> str:
    """An argparse type: a path, never the empty string (which would mean this directory)."""
    if not text:
        # What an unset shell variable gives: `run "$SCENARIO"` must not run the whole cwd.
        raise argparse.ArgumentTypeError("an empty path (is a shell variable unset?)")
    return text


def _cannot_read(what: str, source: str, reason: str) -> UsageProblem:
    return UsageProblem(f"cannot read {what} from {source}: {reason}")


def read_text_argument(value: str, what: str) -> tuple[str, str | None]:
    """``-`` reads standard input, ``@FILE`` reads a file, anything else is the value.

    Returns the text and a note when the final line ending of the file or the pipe was left
    out: ``echo`` and editors add one, which is no part of the value. Any other whitespace is
    kept, as a page keeps what its token provider hands over.
    """
    if value == "-":
        source = "standard input"
        if sys.stdin is None:  # started with it closed (<&-): Python leaves no stream at all
            raise _cannot_read(what, source, "it is closed")
        # The bytes, not sys.stdin's locale decoding, so a pipe reads as a file does.
        stdin = getattr(sys.stdin, "buffer", None)  # None: a text-only stream (tests use one)
        if stdin is None:
            text = sys.stdin.read()
        else:
            try:
                data = read_stream(stdin)
            except UnreadableFile as exc:
                raise _cannot_read(what, source, exc.reason) from None
            text = _decode_text(data, what, source)
    elif value.startswith("@"):
        source = value[1:]
        if not source:
            raise UsageProblem(f"@ names no file: write @FILE to read {what} from FILE")
        try:
            data = read_bytes(source)
        except UnreadableFile as exc:
            raise _cannot_read(what, source, exc.reason) from None
        text = _decode_text(data, what, source)
    else:
        return value, None
    if not text and value == "-":
        # Judged as the empty answer it is (code 3), but most likely the step before failed.
        return text, f"standard input was empty: {what} is judged as the empty string"
    for ending in ("\r\n", "\n"):
        if text.endswith(ending):
            note = f"the final line ending of {source} is not taken as part of {what}"
            return text.removesuffix(ending), note
    return text, None


def note_short_secret(settings: ChatAuthSettings) -> None:
    """Say once, on stderr, that the work stream's HMAC secret is short (see ``short_secret``)."""
    short = short_secret(settings)
    if short is not None:
        print(f"note: {short}; {SHORT_SECRET_NOTE}", file=sys.stderr)
