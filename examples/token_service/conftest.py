"""Start our token service on loopback once for the whole test session."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from token_service import TokenService, make_server

HERE = Path(__file__).parent


@pytest.fixture(scope="session")
def token_service() -> TokenService:
    private_key = (HERE / "keys" / "private.pem").read_text()
    return TokenService(private_key, issuer="contosohelp.com", kid="contoso-2026")


@pytest.fixture(scope="session")
def token_url(token_service: TokenService) -> Iterator[str]:
    """The service's base URL: http://127.0.0.1:<a free port>."""
    server = make_server(token_service)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()
