"""``lcw-emulator token``: mint a token from claims and context, for demos and manual tests."""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from typing import Any

from ..auth import DEFAULT_ISSUER, DEFAULT_TOKEN_LIFETIME, MIN_RSA_BITS, KeyPair, time_claims
from ..clock import MILLISECONDS_THRESHOLD, describe_instant, describe_seconds
from ..files import UnreadableFile, read_bytes
from ._common import EXIT_OK, UsageProblem, epoch_seconds_argument, finite_float, path_argument

# The documentation's sample contact, so a demo token needs no --sub.
SAMPLE_SUB = "87b4d06c-abc2-e811-a9b0-000d3a10e09e"
_DEFAULT_CLAIMS = ("sub", "iat", "nbf", "exp", "iss")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``token`` verb: the signing key, claims, context and lifetime."""
    parser = subparsers.add_parser(
        "token",
        help="mint a signed token (RS256) to stdout",
        description=(
            "Sign a token with an RSA private key and print it. iat and nbf are --at, exp is "
            "--at + --lifetime; --context pairs become the lwicontexts claim, a JSON string "
            "as the documentation asks; --claim sets any claim (the value is read as JSON "
            "when it parses, else taken as text) and wins over the defaults; --omit drops "
            "a default claim to see it refused. Exit 0 when printed, 2 for unusable input "
            "(a key no token could be verified with, say), 74 when the output cannot be "
            "written."
        ),
    )
    parser.add_argument(
        "--key", required=True, type=path_argument, metavar="PEM", help="RSA private key file"
    )
    parser.add_argument("--kid", help="put this kid in the header")
    parser.add_argument("--sub", default=SAMPLE_SUB, help="subject (default: the docs' sample)")
    parser.add_argument(
        "--iss", default=DEFAULT_ISSUER, help=f"issuer (default: {DEFAULT_ISSUER!r})"
    )
    parser.add_argument(
        "--lifetime",
        type=finite_float,
        default=DEFAULT_TOKEN_LIFETIME,
        metavar="SECONDS",
        help=f"default {DEFAULT_TOKEN_LIFETIME:g}",
    )
    parser.add_argument(
        "--at",
        type=epoch_seconds_argument,
        metavar="EPOCH_SECONDS",
        help="issue at this time (default: now)",
    )
    parser.add_argument(
        "--context",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a custom context pair for lwicontexts (repeatable)",
    )
    parser.add_argument(
        "--claim",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any claim (repeatable)",
    )
    parser.add_argument(
        "--omit",
        action="append",
        default=[],
        choices=_DEFAULT_CLAIMS,
        help="leave out a default claim (repeatable)",
    )
    parser.set_defaults(handler=run)


def _pairs(values: list[str], option: str) -> list[tuple[str, str]]:
    pairs = []
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key:
            raise UsageProblem(f"{option} takes KEY=VALUE, got {value!r}")
        pairs.append((key, rest))
    return pairs


def _claim_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def build_claims(args: argparse.Namespace, now: float) -> dict[str, Any]:
    """The payload ``token`` signs, from the parsed arguments."""
    try:
        times = time_claims(now, args.lifetime)
    except ValueError as exc:
        raise UsageProblem(f"--at and --lifetime: {exc}") from None
    claims: dict[str, Any] = {"sub": args.sub, **times, "iss": args.iss}
    context = _pairs(args.context, "--context")
    _note_repeats(context, "--context")
    if context:
        claims["lwicontexts"] = json.dumps(dict(context))
    given = [(key, _claim_value(value)) for key, value in _pairs(args.claim, "--claim")]
    _note_repeats(given, "--claim")
    if context and any(key == "lwicontexts" for key, _ in given):
        print("note: --claim lwicontexts=... replaces every --context pair", file=sys.stderr)
    for key, value in given:
        if isinstance(value, float) and not math.isfinite(value):
            raise UsageProblem(
                f"--claim {key}: {value} is not a JSON number, so no token can carry it"
            )
        claims[key] = value
    for name in args.omit:
        if name in dict(given):
            raise UsageProblem(
                f"--omit {name} drops the {name} that --claim {name}=... sets: give one or "
                "the other"
            )
        claims.pop(name, None)
    lifetime_exp = claims.get("exp") == times["exp"] and "exp" not in dict(given)
    if lifetime_exp and abs(times["exp"]) >= MILLISECONDS_THRESHOLD:
        # The exp --lifetime made (not one given with --claim, maybe to see it refused).
        raise UsageProblem(
            f"--lifetime: a token minted at {describe_instant(now)} to live "
            f"{describe_seconds(args.lifetime)} s would expire at {times['exp']}, which reads "
            "as milliseconds (a NumericDate of 12 digits or more), so every check would refuse "
            "it: give a shorter lifetime"
        )
    return claims


def _note_repeats(pairs: list[tuple[str, Any]], option: str) -> None:
    """Say on stderr when a later KEY=VALUE replaces an earlier one: the last one is signed."""
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            print(
                f"note: {option} {key} is given more than once; the last one is signed",
                file=sys.stderr,
            )
        seen.add(key)


def run(args: argparse.Namespace) -> int:
    """Print a token signed with ``--key`` from the claims given; exit 2 on unusable input."""
    try:
        pem = read_bytes(args.key)
    except UnreadableFile as exc:
        raise UsageProblem(f"cannot read {args.key}: {exc.reason}") from None
    text = pem.lstrip(b"\xef\xbb\xbf").strip()
    if not text:
        raise UsageProblem(f"{args.key} is empty: name the PEM file of an RSA private key")
    # A line of its own: OpenSSL may put "Bag Attributes" lines before it, and a PEM quoted
    # inside JSON (with \n escapes) is not a PEM file.
    found = re.search(rb"(?m)^-----BEGIN", text)
    begin = found.start() if found else -1
    if begin < 0:
        raise UsageProblem(
            f"{args.key} is not PEM text (it has no -----BEGIN line): name the RSA "
            "private key's PEM file, such as private.pem from lcw-emulator keys"
        )
    if b"PUBLIC KEY-----" in text[begin:].split(b"\n", 1)[0]:
        raise UsageProblem(f"{args.key} holds a public key: tokens are signed with the private key")
    try:
        signer = KeyPair.from_private_pem(pem, kid=args.kid or "")
    except (ValueError, TypeError) as exc:
        raise UsageProblem(f"cannot read an RSA private key from {args.key}: {exc}") from None
    size = signer.private_key.key_size
    if size < MIN_RSA_BITS:
        raise UsageProblem(
            f"{args.key} is a {size}-bit RSA key: Omnichannel takes {MIN_RSA_BITS} bits or more "
            "(a work stream refuses the public key), so no token it signs could be verified; "
            "make a pair with lcw-emulator keys"
        )
    if args.kid == "":
        # Minted as asked, as other slips are, to see it refused; but not without a word.
        print(
            "note: --kid '' puts an empty kid in the header, which names no key: a work "
            "stream whose keys have kids refuses it",
            file=sys.stderr,
        )
    now = time.time() if args.at is None else args.at
    claims = build_claims(args, now)
    try:
        token = signer.mint(claims, with_kid=args.kid is not None)
    except ValueError as exc:  # NaN or infinity from --claim: JSON cannot hold them
        raise UsageProblem(f"cannot sign these claims: {exc}") from None
    print(token)
    return EXIT_OK
