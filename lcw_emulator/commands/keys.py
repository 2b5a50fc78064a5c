"""``lcw-emulator keys``: a fresh RSA key pair and the public key in every accepted form."""

from __future__ import annotations

import argparse
import errno
import json
import os
import secrets
from pathlib import Path

from ..auth import KeyPair
from ._common import EXIT_OK, OutputFailed, UsageProblem, path_argument

FILES = ("private.pem", "public.pem", "keys.json", "jwks.json")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``keys`` verb: ``--out``, ``--kid``, ``--force``."""
    parser = subparsers.add_parser(
        "keys",
        help="write a fresh RS256 key pair and its public key forms",
        description=(
            "Write a fresh RSA 2048 key pair to DIR: private.pem (sign tokens with it: "
            "lcw-emulator token --key), public.pem (PEM), keys.json (the documented key array "
            "[{kid, publicKey, expiry}]) and jwks.json (JWKS). Serve any public form at the "
            "work stream's public key URL, or name it as [auth].public_key. --force replaces "
            "all four or none. Exit 0 when written, 2 for unusable input (files already "
            "there without --force), 74 when the output cannot be written."
        ),
    )
    parser.add_argument(
        "--out", default=".", type=path_argument, metavar="DIR", help="directory (default: here)"
    )
    parser.add_argument("--kid", default="key-1", help="key id in keys.json and jwks.json")
    parser.add_argument(
        "--force", action="store_true", help="overwrite key files that already exist"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Write a fresh RS256 key pair and its public key forms; exit 2 rather than overwrite."""
    if not args.kid:
        raise UsageProblem("--kid cannot be empty")
    out = Path(args.out)
    # lexists: a symlink to nothing is there too (a hard link cannot be made over it).
    existing = [name for name in FILES if os.path.lexists(out / name)]
    if existing and not args.force:
        raise UsageProblem(
            f"{out} already holds {', '.join(existing)}; use --force to replace them"
        )
    pair = KeyPair.generate(kid=args.kid)
    contents = {
        "private.pem": pair.private_pem,
        "public.pem": pair.public_pem,
        "keys.json": json.dumps(pair.key_array(), indent=2) + "\n",
        "jwks.json": json.dumps(pair.jwks(), indent=2) + "\n",
    }
    if out.exists() and not out.is_dir():
        raise UsageProblem(f"--out {out} is a file, not a directory: name a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _write_failed(out, exc) from None
    _write_all(out, contents, replace=args.force)
    for name in FILES:
        print(out / name)
    return EXIT_OK


def _write_all(out: Path, contents: dict[str, str], *, replace: bool) -> None:
    """Write every file or none: a half-replaced set would sign with a key nothing trusts.

    Each file is written beside its target first, under a fresh name, then all are moved
    into place. A failed write (a full disk) leaves the old files as they were and no
    staged file behind; only a move failing after the checks (the directory changed
    meanwhile) can leave the files before it replaced, and the message names the file.
    Unless ``replace``, a file is put in place only where none is (see :func:`_place`).
    """
    written: dict[Path, Path] = {}
    try:
        for name, text in contents.items():
            target = out / name
            staged = out / f".{name}.{secrets.token_hex(8)}.tmp"
            # Created with its mode, which the umask narrows as for any new file: the private
            # key readable by its owner alone from the start, the public forms by anyone.
            mode = 0o600 if name == "private.pem" else 0o644
            try:
                fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            except OSError as exc:
                raise _write_failed(target, exc) from None
            written[staged] = target  # before writing: a failed write is cleaned up too
            try:
                with os.fdopen(fd, "w", encoding="ascii") as file:
                    file.write(text)
            except OSError as exc:
                raise _write_failed(target, exc) from None
        for target in written.values():
            if target.is_dir():
                raise UsageProblem(f"cannot write {target}: it is a directory")
        placed: list[Path] = []
        for staged, target in written.items():
            try:
                if replace:
                    staged.replace(target)
                else:
                    _place(staged, target)
            except FileExistsError:
                # Another run (a test session's workers, each making the keys if missing)
                # put its file there first: its set stands, and none of this one is left.
                for mine in placed:
                    mine.unlink(missing_ok=True)
                raise UsageProblem(
                    f"{out} already holds {target.name}, written meanwhile (by another "
                    "lcw-emulator keys?); use --force to replace it"
                ) from None
            except OSError as exc:
                raise _write_failed(target, exc) from None
            placed.append(target)
    finally:
        for staged in written:
            staged.unlink(missing_ok=True)


def _place(staged: Path, target: Path) -> None:
    """Put ``staged`` at ``target`` only if no file is there: FileExistsError otherwise.

    A hard link is made or refused at once, so of several runs writing one directory at a
    time, exactly one places ``private.pem`` (the first file), and only it goes on.
    """
    try:
        os.link(staged, target)
    except FileExistsError:
        raise
    except OSError:  # a file system with no hard links: check, then move (not atomic)
        if os.path.lexists(target):
            raise FileExistsError(target) from None
        staged.replace(target)


# The disk, not the directory named: the key files are this verb's output (exit 74).
_OUTPUT_ERRNOS = frozenset({errno.ENOSPC, errno.EFBIG, errno.EIO, errno.EDQUOT})


def _write_failed(target: Path, exc: OSError) -> Exception:
    if exc.errno in _OUTPUT_ERRNOS:
        return OutputFailed(OSError(exc.errno, f"{target}: {exc.strerror}"))
    return UsageProblem(f"cannot write {target}: {exc.strerror}")
