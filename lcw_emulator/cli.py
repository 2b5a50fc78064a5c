"""The ``lcw-emulator`` command: one verb per module under :mod:`lcw_emulator.commands`."""

from __future__ import annotations

import argparse
import contextlib
import errno
import sys
from collections.abc import Iterator, Sequence
from typing import Any, TextIO

from . import __version__
from .commands import keys, run, serve, token, verify
from .commands._common import EXIT_UNUSABLE, OutputFailed, UsageProblem, drop_stdout
from .errors import LcwError

# Each verb module registers itself with add_parser(subparsers).
VERBS = [run, verify, serve, keys, token]
# The reader closed stdout (`| head -1`): 128 + SIGPIPE, what a shell reports for a command
# a closed pipe killed. 1 would read as "token refused", 2 as unusable input.
EXIT_BROKEN_PIPE = 141
# The output could not be written (a full disk): sysexits' EX_IOERR. 1 would read as
# "refused" or "failed", which the verdict, never written, may not have been.
EXIT_OUTPUT_FAILED = 74


def build_parser() -> argparse.ArgumentParser:
    """The ``lcw-emulator`` command line: run, verify, serve, keys and token."""
    parser = argparse.ArgumentParser(
        prog="lcw-emulator",
        description="Emulate the Omnichannel live chat widget: no browser, no org, no network.",
    )
    parser.add_argument("--version", action="version", version=f"lcw-emulator {__version__}")
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for verb in VERBS:
        verb.add_parser(subparsers)
    return parser


@contextlib.contextmanager
def _as_output_failure() -> Iterator[None]:
    """A failed write as :class:`OutputFailed`; a closed pipe stays itself (exit 141)."""
    try:
        yield
    except BrokenPipeError:
        raise
    except (OSError, ValueError) as exc:  # ValueError: a file closed under us
        raise OutputFailed(exc if isinstance(exc, OSError) else OSError(str(exc))) from exc


class _Output:
    """Standard output, with a failed write told apart from any other ``OSError``."""

    def __init__(self, stream: TextIO | None) -> None:
        # None: the process was started with the descriptor closed (`>&-`), so Python has no
        # stream for it; whatever is written there cannot be written.
        self._stream = stream

    def write(self, text: str) -> int:
        if self._stream is None:
            raise OutputFailed(OSError(errno.EBADF, "standard output is closed"))
        with _as_output_failure():
            return self._stream.write(text)

    def flush(self) -> None:
        if self._stream is not None:
            with _as_output_failure():
                self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)  # isatty, fileno, encoding...


class _Diagnostics(_Output):
    """Standard error, where a note that cannot be written is lost, not the verdict."""

    def write(self, text: str) -> int:
        if self._stream is not None:
            with contextlib.suppress(OSError, ValueError):
                return self._stream.write(text)
        return len(text)

    def flush(self) -> None:
        if self._stream is not None:
            with contextlib.suppress(OSError, ValueError):
                self._stream.flush()


def _refuse_double_dash_values(parser: argparse.ArgumentParser, argv: Sequence[str]) -> None:
    # argparse (3.11) drops the value of --lifetime=-- and hands the option an empty list,
    # which fails later as a TypeError: refuse it as argparse refuses a missing value.
    for arg in argv:
        if arg == "--":  # what follows is values, not options
            return
        option, equals, value = arg.partition("=")
        if option.startswith("--") and equals and value == "--":
            parser.error(f"{arg}: '--' is no value for {option}; give one")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        # Text the output cannot encode (an ASCII or cp1252 stream, Windows redirected to a
        # file) is escaped, never a UnicodeEncodeError that would exit 1, read as "refused".
        reconfigure(errors="backslashreplace")
    stdout, stderr = sys.stdout, sys.stderr
    # Before the arguments are read: --help and --version are output too.
    output = sys.stdout = _Output(stdout)
    diagnostics = sys.stderr = _Diagnostics(stderr)
    who = "lcw-emulator"
    try:
        try:
            parser = build_parser()
            _refuse_double_dash_values(parser, sys.argv[1:] if argv is None else argv)
            args = parser.parse_args(argv)
        except SystemExit as done:
            if done.code in (0, None):  # --help, --version: printed, if it could be
                sys.stdout.flush()
            raise
        who = f"lcw-emulator {args.verb}"
        code: int = args.handler(args)
        sys.stdout.flush()  # a closed pipe shows here, not as a warning at shutdown
    except (UsageProblem, LcwError) as exc:
        _say(f"{who}: {exc}")
        return EXIT_UNUSABLE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The Python docs' recipe (signal module, "Note on SIGPIPE"): point stdout at
        # devnull so the flush at shutdown cannot fail again, and exit quietly.
        drop_stdout()
        return EXIT_BROKEN_PIPE
    except OutputFailed as exc:
        drop_stdout()
        _say(f"{who}: cannot write the output: {exc}")
        return EXIT_OUTPUT_FAILED
    except OSError as exc:  # a path the system refuses (too long, say), not the output
        where = f": {str(exc.filename)[:80]}" if exc.filename else ""
        _say(f"{who}: {exc.strerror or exc}{where}")
        return EXIT_UNUSABLE
    finally:
        if sys.stdout is output:  # a verb may have pointed it elsewhere (run, at a closed pipe)
            sys.stdout = stdout
        if sys.stderr is diagnostics:
            sys.stderr = stderr
    return code


def _say(text: str) -> None:
    """Print to stderr; if even that fails (2>/dev/full), the exit code says it all."""
    print(text, file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
