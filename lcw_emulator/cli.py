"""The ``lcw-emulator`` command: one verb per module under :mod:`lcw_emulator.commands`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from . import __version__
from .commands import keys, run, serve, token, verify
from .commands._common import EXIT_UNUSABLE, UsageProblem
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = build_parser().parse_args(argv)
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        # Text the output cannot encode (an ASCII or cp1252 stream, Windows redirected to a
        # file) is escaped, never a UnicodeEncodeError that would exit 1, read as "refused".
        reconfigure(errors="backslashreplace")
    try:
        code: int = args.handler(args)
        sys.stdout.flush()  # a closed pipe shows here, not as a warning at shutdown
    except (UsageProblem, LcwError) as exc:
        print(f"lcw-emulator {args.verb}: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The Python docs' recipe (signal module, "Note on SIGPIPE"): point stdout at
        # devnull so the flush at shutdown cannot fail again, and exit quietly.
        _drop_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as exc:
        # The verbs read their files as UsageProblems: what is left is writing the output.
        _drop_stdout()
        print(
            f"lcw-emulator {args.verb}: cannot write the output: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return EXIT_OUTPUT_FAILED
    return code


def _drop_stdout() -> None:
    """Point stdout at devnull, so the flush at shutdown cannot fail (and print) again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


if __name__ == "__main__":
    sys.exit(main())
