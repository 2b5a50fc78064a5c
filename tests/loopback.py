"""A real HTTP endpoint on 127.0.0.1 (ephemeral port) whose answer a test sets and changes."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs

from lcw_emulator import Clock


@attrs.frozen
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # the virtual clock's time when the request arrived (0 without a clock)


class LoopbackEndpoint:
    """Answers every request with :attr:`status`, :attr:`body` and :attr:`content_type`."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock
        self.status = 200
        self.body = ""
        self.content_type = "application/json"
        self.delay = 0.0  # real seconds before answering
        self.requests: list[SeenRequest] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def answer(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                endpoint.requests.append(
                    SeenRequest(
                        self.command,
                        self.path,
                        dict(self.headers.items()),
                        self.rfile.read(length),
                        endpoint.clock.now() if endpoint.clock else 0.0,
                    )
                )
                time.sleep(endpoint.delay)
                data = endpoint.body.encode()
                try:
                    self.send_response(endpoint.status)
                    self.send_header("Content-Type", endpoint.content_type)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout test)

            do_GET = do_POST = answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str = "/") -> str:
        return self.base_url + path


@contextmanager
def loopback_endpoint(clock: Clock | None = None) -> Iterator[LoopbackEndpoint]:
    """Serve a :class:`LoopbackEndpoint` on a thread; stop it and free the port on exit."""
    endpoint = LoopbackEndpoint(clock)
    thread = threading.Thread(target=endpoint.server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield endpoint
    finally:
        endpoint.server.shutdown()
        endpoint.server.server_close()
        thread.join()


def closed_port_url() -> str:
    """A loopback URL nobody listens on."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    server.server_close()
    return url
