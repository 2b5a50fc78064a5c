"""The local web server: the shim, the demo page and the WebSocket bridge (aiohttp).

Each page that connects to ``/lcw`` gets its own widget (a page load is a new
widget) on the server's one org, so sessions, queues and the agent
availability limit are shared as in a real org.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable
from importlib import resources

import attrs
from aiohttp import WSCloseCode, WSMsgType, web

from ..errors import describe_failure, wrong_type
from ..org import Omnichannel
from ..workstream import WorkStream
from .bridge import PageBridge, page_seconds

__all__ = [
    "BRIDGES",
    "ORG",
    "SOCKET_PATH",
    "make_app",
    "serve_forever",
    "static_text",
]

SOCKET_PATH = "/lcw"
ORG = web.AppKey("org", Omnichannel)
BRIDGES = web.AppKey("bridges", list[PageBridge])
_WORK_STREAM = web.AppKey("work_stream", WorkStream)


@attrs.frozen
class _PageOptions:
    strict: bool
    load_failure: str | None
    page_timeout: float | None


_OPTIONS = web.AppKey("page_options", _PageOptions)
_SOCKETS = web.AppKey("sockets", set[web.WebSocketResponse])
_MAX_MESSAGE = 1024 * 1024  # far above a 64 KiB token and 100 context variables


def static_text(name: str) -> str:
    """A file shipped with this package (``shim.js``, ``demo.html``)."""
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def make_app(
    org: Omnichannel,
    work_stream: WorkStream,
    *,
    strict: bool = False,
    load_failure: str | None = None,
    page_timeout: float | None = None,
) -> web.Application:
    """The web application serving ``work_stream`` of ``org`` to pages.

    The page options are checked here, once, rather than by every page that connects.
    """
    if not isinstance(strict, bool):
        raise wrong_type("strict", "True or False", strict)
    if load_failure is not None and not isinstance(load_failure, str):
        raise wrong_type("load_failure", "the failure's detail (text) or None", load_failure)
    page_timeout = page_seconds(page_timeout)
    app = web.Application()
    app[ORG] = org
    app[_WORK_STREAM] = org.add_work_stream(work_stream)
    app[BRIDGES] = []
    app[_OPTIONS] = _PageOptions(strict, load_failure, page_timeout)
    app[_SOCKETS] = set()
    app.on_shutdown.append(_close_sockets)
    app.router.add_get("/", _file("demo.html", "text/html"))
    app.router.add_get("/demo.html", _file("demo.html", "text/html"))
    app.router.add_get("/shim.js", _file("shim.js", "application/javascript"))
    app.router.add_get(SOCKET_PATH, _page_socket)
    app.router.add_get("/favicon.ico", _no_icon)
    return app


def _file(name: str, content_type: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def serve_file(request: web.Request) -> web.Response:
        # Read per request so an edited page shows on reload; the files are small.
        return web.Response(
            text=static_text(name),
            content_type=content_type,
            charset="utf-8",
            headers={"Cache-Control": "no-store"},
        )

    return serve_file


async def _close_sockets(app: web.Application) -> None:
    # Without this, shutdown waits (60 s by default) for every open page to leave.
    open_sockets = app[_SOCKETS]
    for socket in list(open_sockets):
        await socket.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")


async def _no_icon(request: web.Request) -> web.Response:
    return web.Response(status=204)


async def _page_socket(request: web.Request) -> web.WebSocketResponse:
    app = request.app
    socket = web.WebSocketResponse(max_msg_size=_MAX_MESSAGE)
    await socket.prepare(request)
    app[_SOCKETS].add(socket)
    options = app[_OPTIONS]
    widget = app[ORG].widget(
        app[_WORK_STREAM], strict=options.strict, load_failure=options.load_failure
    )
    outbox: asyncio.Queue[str | None] = asyncio.Queue()
    bridge = PageBridge(widget, outbox.put_nowait, page_timeout=options.page_timeout)
    app[BRIDGES].append(bridge)
    writer = asyncio.create_task(_drain(socket, outbox))
    bridge.hello()
    try:
        async for message in socket:
            if message.type is WSMsgType.TEXT:
                try:
                    bridge.receive_text(message.data)
                except Exception as exc:  # the page's message, not the server, is at fault
                    bridge.refuse(f"the message could not be handled ({describe_failure(exc)})")
            elif message.type is WSMsgType.ERROR:
                # e.g. a message over 1 MiB: the page sees close code 1009 and says so
                print(
                    f"lcw-emulator serve: closed a page's connection: {socket.exception()}",
                    file=sys.stderr,
                    flush=True,
                )
                break
    finally:
        app[_SOCKETS].discard(socket)
        bridge.close()
        outbox.put_nowait(None)
        await writer
    return socket


async def _drain(socket: web.WebSocketResponse, outbox: asyncio.Queue[str | None]) -> None:
    # One writer per socket keeps messages in the order the bridge emitted them.
    while (text := await outbox.get()) is not None:
        if socket.closed:
            continue
        with contextlib.suppress(ConnectionError):
            await socket.send_str(text)


async def serve_forever(
    app: web.Application, host: str, port: int, announce: Callable[[str], None]
) -> None:
    """Listen on ``host:port`` (0: any free port), ``announce`` the URL, serve until cancelled."""
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_port = runner.addresses[0][1]
        shown_host = f"[{host}]" if ":" in host else host
        announce(f"http://{shown_host}:{bound_port}/")
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
