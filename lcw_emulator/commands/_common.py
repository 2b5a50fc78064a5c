"""What every verb shares: unusable input is a one-line message and exit code 2."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from ..errors import ConfigurationError
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


def load_work_stream(path: str) -> WorkStream:
    try:
        return WorkStream.from_toml(path)
    except ConfigurationError as exc:
        raise UsageProblem(str(exc)) from None


def read_text_argument(value: str, what: str) -> str:
    """``-`` reads standard input, ``@FILE`` reads a file, anything else is the value."""
    if value == "-":
        return sys.stdin.read().strip()
    if value.startswith("@"):
        try:
            return Path(value[1:]).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UsageProblem(f"cannot read {what} from {value[1:]}: {exc.strerror}") from None
    return value
