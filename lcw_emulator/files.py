"""Reading the files a person names: work streams, scenarios, keys and tokens.

Every way a read can fail comes back as one :class:`UnreadableFile` saying why, which the
caller puts in its own words (a work stream's :class:`~lcw_emulator.errors.ConfigurationError`,
a command's usage message). A read stops at :data:`MAX_FILE_BYTES`, so that a device or a pipe
that keeps writing (``/dev/zero``) is refused instead of filling memory. A pipe that writes
nothing yet is waited for, as any reader waits: ``@<(curl ...)`` in a shell is a pipe too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

__all__ = [
    "MAX_FILE_BYTES",
    "UnreadableFile",
    "read_bytes",
    "read_stream",
    "read_text",
    "shown_path",
]

# Far past any work stream, scenario, key document or token (a token is at most 64 KiB).
MAX_FILE_BYTES = 16 * 1024 * 1024


class UnreadableFile(Exception):
    """A named file could not be read; ``reason`` says why, as the end of a sentence."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    """The bytes of the file at ``path``, or :class:`UnreadableFile` saying why not."""
    try:
        with Path(path).open("rb") as file:
            return read_stream(file)
    except OSError as exc:
        raise UnreadableFile(exc.strerror or str(exc)) from None
    except UnicodeEncodeError:  # a lone surrogate, as in JSON's "\ud800"
        raise UnreadableFile("its name is not valid text, so no file can have it") from None
    except ValueError:  # open() refuses a NUL before asking the system
        raise UnreadableFile("its name holds a NUL character, which no file name can") from None


def read_text(path: str | os.PathLike[str], encoding: str = "utf-8") -> str:
    """The text of the file at ``path``, lines ended by ``\\n`` as ``open()`` reads them.

    Raises :class:`UnreadableFile` as :func:`read_bytes` does, and ``UnicodeDecodeError``.
    """
    # Universal newlines, as Path.read_text: a file saved with old Mac line ends (\r) or
    # Windows ones (\r\n) reads as any other.
    text = read_bytes(path).decode(encoding)
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def shown_path(path: str | os.PathLike[str]) -> str:
    """``path`` as text any terminal prints: a NUL or a lone surrogate shown escaped."""
    text = os.fspath(path)
    if text.isprintable() and text.isascii():
        return text
    return "".join(
        char if char.isprintable() and not 0xD800 <= ord(char) <= 0xDFFF else repr(char)[1:-1]
        for char in text
    )


def read_stream(stream: BinaryIO) -> bytes:
    """What ``stream`` holds, up to :data:`MAX_FILE_BYTES`; past that, :class:`UnreadableFile`."""
    data = stream.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise UnreadableFile(
            f"it holds more than {MAX_FILE_BYTES // 2**20} MiB, far more than any work stream, "
            "scenario, key or token (a device or a pipe that never ends?)"
        )
    return data
