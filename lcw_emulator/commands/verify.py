"""``lcw-emulator verify``: judge a token exactly as a chat start would."""

from __future__ import annotations

import argparse
import asyncio
import binascii
import json
import math
import sys
import time
from pathlib import Path

from jwt.utils import base64url_decode

from ..clock import VirtualClock, describe_instant
from ..context import Primitive, case_mismatch_note, javascript_text
from ..errors import printable
from ..service import OmnichannelService, TokenJudgement
from ._common import (
    EXIT_FAILED,
    EXIT_OK,
    UsageProblem,
    epoch_seconds_argument,
    load_work_stream,
    note_short_secret,
    path_argument,
    read_text_argument,
)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``verify`` verb: a token (or ``@file``, ``-``), ``--workstream``, ``--at``."""
    parser = subparsers.add_parser(
        "verify",
        help="judge a token as Omnichannel would at chat start",
        description=(
            "Judge TOKEN for the work stream exactly as a chat start would: signature, "
            "kid, time claims against --at, issuer, lwicontexts, context variables. "
            "Exit 0 when valid, 1 when refused, 2 for unusable input, 74 when the output "
            "cannot be written."
        ),
    )
    parser.add_argument(
        "--workstream", required=True, type=path_argument, metavar="FILE", help="work stream TOML"
    )
    parser.add_argument(
        "--at",
        type=epoch_seconds_argument,
        metavar="EPOCH_SECONDS",
        help="judge at this time (default: now)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--strict-context",
        action="store_true",
        help="exit 1 also when a valid token's context is not kept whole: a key dropped, a key "
        "created at run time (not declared), or context outside lwicontexts",
    )
    parser.add_argument("token", metavar="TOKEN", help="the JWT, '-' for stdin or @FILE")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Judge the token; exit 0 when a chat start would take it, 1 when refused, 2 unusable."""
    work_stream = load_work_stream(args.workstream)
    if work_stream.auth is None:
        # A chat start on this stream never asks for a token: the file is the problem.
        raise UsageProblem(
            f"{args.workstream}: work stream {work_stream.name!r} has no chat authentication "
            "([auth]), so no token can be verified"
        )
    text, note = read_text_argument(args.token, "the token")
    if note is None and text.count(".") != 2 and _names_a_file(text):
        note = f"{text} is a file: to judge the token in it, write @{text}"
    if note is not None:
        print(f"note: {note}", file=sys.stderr)  # stderr: --json keeps its stdout to itself
    at = args.at if args.at is not None else time.time()
    service = OmnichannelService(clock=VirtualClock(start=at, auto_jump=False))
    # "null" is JSON null, what `jq .token` prints when the service sent no token.
    token = None if text.strip() == "null" else text
    judgement = asyncio.run(service.judge(work_stream, token))
    note_short_secret(work_stream.auth)
    loose = context_not_whole(judgement) if args.strict_context else None
    if args.json:
        shown = judgement.to_dict()
        if not judgement.valid:
            shown["payload"] = _unverified_payload(text)
        if args.strict_context:
            shown["strict"] = loose  # why --strict-context exits 1 for a valid token, or null
        print(json.dumps(_json_ready(shown), indent=2, sort_keys=True, default=str))
    else:
        lines = [render(judgement, work_stream.name, at)]
        if not judgement.valid:
            payload = _unverified_payload(text)
            if payload is not None:
                compact = json.dumps(_json_ready(payload), ensure_ascii=False, default=str)
                if len(compact) > 400:
                    compact = compact[:400] + "..."
                lines.append(printable(f"  payload: {compact} (as sent: not verified)"))
        if loose is not None:
            lines.append(printable(f"  strict:  {loose}"))
        print("\n".join(lines))
    if not judgement.valid or loose is not None:
        return EXIT_FAILED
    return EXIT_OK


def context_not_whole(judgement: TokenJudgement) -> str | None:
    """What keeps a valid token's context from being kept whole, for ``--strict-context``."""
    if not judgement.valid:
        return None
    problems = []
    if judgement.resolution.dropped:
        problems.append(f"{len(judgement.resolution.dropped)} key(s) dropped")
    if judgement.resolution.created:
        problems.append(f"{len(judgement.resolution.created)} key(s) created at run time")
    if judgement.hint is not None:
        problems.append("context outside lwicontexts")
    return "context not kept whole: " + ", ".join(problems) if problems else None


def _unverified_payload(text: str) -> dict[str, object] | None:
    """The payload a refused token carries, as sent (nothing checked), or ``None``.

    Read from its segment alone: ``jwt.decode`` without the signature still judges the
    header (a kid that is no string, ``crit``), and those are the tokens whose payload a
    reader most wants to see beside the refusal.
    """
    segments = text.split(".")
    if len(segments) != 3:
        return None
    try:
        payload = json.loads(base64url_decode(segments[1].encode("ascii")))
    except (ValueError, binascii.Error, RecursionError):  # UnicodeError is a ValueError
        return None
    return payload if isinstance(payload, dict) else None


def _names_a_file(text: str) -> bool:
    # A token cut short is no file name either: too long for one (ENAMETOOLONG), or odd.
    try:
        return len(text) < 256 and Path(text).is_file()
    except (OSError, ValueError):
        return False


def _json_ready(value: object) -> object:
    """``value`` with every number JSON cannot hold (a claim of 1e400) as its JavaScript text."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(item) for item in value]
    return value


def render(judgement: TokenJudgement, work_stream: str, at: float) -> str:
    """The human-readable verdict."""
    moment = describe_instant(at)
    lines: list[str] = []
    if judgement.error is not None:
        code = int(judgement.error.code) if judgement.error.code else "-"
        lines.append(f"REFUSED for work stream {work_stream!r} at {moment}")
        lines.append(f"  lcw:error {code}: {judgement.error.message}")
        lines.append(f"  reason:  {judgement.error.reason}")
        return "\n".join(printable(line) for line in lines)
    claims = judgement.verdict.claims or {}
    lines.append(f"VALID for work stream {work_stream!r} at {moment}")
    sub_hint = judgement.sub_hint
    lines.append(f"  sub:     {claims.get('sub')}" + (f" ({sub_hint})" if sub_hint else ""))
    lines.append(f"  iss:     {claims.get('iss')}")  # required, so a valid token has one
    mismatches = dict(judgement.case_mismatches)
    for variable in judgement.resolution.variables:
        origin = " (created at run time)" if variable.created else ""
        if variable.name in mismatches:
            note = case_mismatch_note(variable.name, mismatches[variable.name])
            origin = f" (created at run time: {note})"
        lines.append(
            f"  context: {variable.name} = {_shown(variable.value)} ({variable.type.value}){origin}"
        )
    for dropped in judgement.resolution.dropped:
        lines.append(f"  dropped: {dropped.key}: {dropped.reason}")
    if not judgement.resolution.variables and not judgement.resolution.dropped:
        why = "lwicontexts is empty" if "lwicontexts" in claims else "the token has no lwicontexts"
        lines.append(f"  context: (none: {why})")
    if judgement.hint is not None:
        lines.append(f"  hint:    {judgement.hint}")
    # Each line shows what the token carries (sub, iss, context keys, reasons quoting them):
    # a newline or a terminal escape in it must not write a line of its own (a forged
    # verdict line) or change colours, so they are shown escaped.
    return "\n".join(printable(line) for line in lines)


def _shown(value: Primitive) -> str:
    """A context value as the page's JavaScript shows it: 10000, not 10000.0; text quoted."""
    return (
        json.dumps(value, ensure_ascii=False) if isinstance(value, str) else javascript_text(value)
    )
