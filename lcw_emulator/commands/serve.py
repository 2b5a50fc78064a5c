"""``lcw-emulator serve``: the documentation's JavaScript, unchanged, in a real browser."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import sys
import time
from importlib import resources
from pathlib import Path

from ..clock import Clock, RealClock, VirtualClock, describe_instant
from ..org import Omnichannel
from ._common import (
    EXIT_OK,
    EXIT_UNUSABLE,
    OutputFailed,
    UsageProblem,
    drop_stdout,
    epoch_seconds_argument,
    load_work_stream,
    note_short_secret,
    path_argument,
)

DEFAULT_PORT = 8765


def docs_sample_work_stream() -> Path:
    """The bundled work stream the documentation's sample token is valid for."""
    return Path(str(resources.files("lcw_emulator.browser").joinpath("docs_sample.toml")))


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``serve`` verb: the SDK shim, bridge and demo page for a real browser."""
    parser = subparsers.add_parser(
        "serve",
        help="serve the SDK shim, a bridge and a demo page for a real browser",
        description=(
            "Serve a JavaScript shim of Microsoft.Omnichannel.LiveChatWidget.SDK backed by the "
            "emulator, over a WebSocket bridge, and a demo page running the documentation's "
            "setAuthTokenProvider sample. Needs the 'browser' extra (aiohttp)."
        ),
    )
    parser.add_argument(
        "--workstream",
        type=path_argument,
        metavar="FILE",
        help="work stream TOML (default: the bundled one the documentation's sample token "
        "is signed for)",
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    parser.add_argument(
        "--start",
        type=epoch_seconds_argument,
        metavar="EPOCH_SECONDS",
        help="the emulator's time when the server starts (default: now); 1542622100 puts "
        "the documentation's sample token inside its validity window",
    )
    parser.add_argument(
        "--clock",
        choices=("wall", "virtual"),
        default="wall",
        help="wall: time runs at wall speed from --start (default); virtual: time stands "
        "still at --start except when every task waits on it",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="SDK calls before lcw:ready fail instead of being queued",
    )
    parser.add_argument(
        "--load-failure",
        metavar="DETAIL",
        help="make every widget fail to load (lcw:error code 7) with this detail",
    )
    parser.set_defaults(handler=run)


def make_clock(mode: str, start: float | None) -> Clock:
    """The org's clock for a live server.

    ``wall`` (the default) is a :class:`RealClock` with a start: it starts at ``start``
    and runs at wall speed, so a page gets the same real 10 s to call back as
    in a real browser, and a class has the sample token's hour to watch the
    demo. ``virtual`` is a :class:`VirtualClock` with auto-jump: time stands
    still at ``start`` (timeline times are exact, as in a Python run) and only
    jumps when everything waits on it. The bridge holds it while the page runs a
    provider, so the jump never skips the page's answer.
    """
    at = start if start is not None else time.time()
    if mode == "virtual":
        return VirtualClock(start=at)
    return RealClock(start=at)


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; exit 2 when aiohttp (the browser extra) is missing."""
    try:
        from ..browser import server
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] != "aiohttp":
            raise
        print(
            "lcw-emulator serve: needs aiohttp; install the browser extra: "
            "pip install -e '.[browser]' in the lcw-emulator checkout, or pip install aiohttp",
            file=sys.stderr,
        )
        return EXIT_UNUSABLE
    if not 0 <= args.port <= 65535:
        raise UsageProblem(f"--port must be between 0 and 65535, got {args.port}")
    path = args.workstream if args.workstream is not None else str(docs_sample_work_stream())
    work_stream = load_work_stream(path)
    if work_stream.auth is not None:
        note_short_secret(work_stream.auth)  # once, up front; the chats note it in their timelines
    clock = make_clock(args.clock, args.start)
    org = Omnichannel(clock=clock)
    app = server.make_app(org, work_stream, strict=args.strict, load_failure=args.load_failure)

    def announce(url: str) -> None:
        try:
            print(
                f"lcw-emulator serve: {url}  (work stream {work_stream.name!r}, "
                f"{type(clock).__name__} at {describe_instant(clock.now())}; Ctrl-C stops)",
                flush=True,
            )
        except (BrokenPipeError, OutputFailed):
            drop_stdout()  # nobody reads the banner (a closed or full output): serve on

    if not _loopback(args.host):
        print(
            f"lcw-emulator serve: warning: --host {args.host} is reachable from other machines, "
            "and the bridge has no authentication: anyone who can reach it can drive the "
            "widget and its org (keep it on 127.0.0.1 unless the network is yours alone)",
            file=sys.stderr,
        )
    try:
        asyncio.run(server.serve_forever(app, args.host, args.port, announce))
    except OSError as exc:
        raise UsageProblem(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    return EXIT_OK


def _loopback(host: str) -> bool:
    """True for an address only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: where it resolves is not ours to know
