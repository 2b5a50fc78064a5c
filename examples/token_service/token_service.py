"""A small token service: the kind of backend a page's auth token provider calls.

The page's provider posts who the customer is and what they have in their cart;
this service answers with a signed JWT whose ``lwicontexts`` claim carries that
context, as Omnichannel's chat authentication asks::

    POST /token   {"user": "<contact id>", "context": {"msdyn_cartvalue": 10000}}
    200           {"token": "eyJ..."}
    GET  /keys.json   the public key as Omnichannel's documented key array, for a work
                      stream's public key URL: [{"kid", "publicKey" (base64 PEM), "expiry"}]

Standard library HTTP server and PyJWT only. Run it::

    python token_service.py --key keys/private.pem --issuer contosohelp.com --port 8000
                            [--kid contoso-2026]
"""

from __future__ import annotations

import argparse
import base64
import json
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization


class TokenService:
    """Mints the JWTs: RS256, ``sub``, ``iss``, ``iat``/``nbf`` now, ``exp`` an hour later."""

    def __init__(
        self,
        private_key_pem: str,
        *,
        issuer: str,
        kid: str | None = None,
        lifetime: int = 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.private_key_pem = private_key_pem
        self.issuer = issuer
        self.kid = kid
        self.lifetime = lifetime
        self.clock = clock

    def mint(self, user: str, context: Mapping[str, Any]) -> str:
        now = int(self.clock())
        payload = {
            "sub": user,
            "iss": self.issuer,
            "iat": now,
            "nbf": now,
            "exp": now + self.lifetime,
            # Omnichannel wants the custom context as a JSON *string*.
            "lwicontexts": json.dumps(dict(context)),
        }
        headers = {"kid": self.kid} if self.kid else None
        return jwt.encode(payload, self.private_key_pem, algorithm="RS256", headers=headers)

    def key_array(self) -> list[dict[str, Any]]:
        """The public key as the documented key array: its PEM, base64-encoded, under our kid."""
        if not self.kid:
            raise ValueError("a key array names each key by kid: give the service a kid")
        key = serialization.load_pem_private_key(self.private_key_pem.encode(), password=None)
        pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return [{"kid": self.kid, "publicKey": base64.b64encode(pem).decode(), "expiry": None}]


def make_handler(service: TokenService) -> type[BaseHTTPRequestHandler]:
    class TokenHandler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.path != "/token":
                return self.answer(404, {"error": "not found"})
            try:
                length = int(self.headers.get("Content-Length", 0))
                request = json.loads(self.rfile.read(length) or b"null")
                user = request["user"]
                context = request.get("context", {})
            except (ValueError, TypeError, KeyError):
                return self.answer(400, {"error": 'send {"user": ..., "context": {...}}'})
            self.answer(200, {"token": service.mint(user, context)})

        def do_GET(self) -> None:
            if self.path != "/keys.json":
                return self.answer(404, {"error": "not found"})
            self.answer(200, service.key_array())

        def answer(self, status: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output quiet

    return TokenHandler


def make_server(
    service: TokenService, host: str = "127.0.0.1", port: int = 0
) -> ThreadingHTTPServer:
    """An HTTP server for ``service`` (port 0 picks a free one: ``server.server_address``)."""
    return ThreadingHTTPServer((host, port), make_handler(service))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--key", required=True, help="RSA private key (PEM)")
    parser.add_argument("--issuer", required=True)
    parser.add_argument(
        "--kid", default="contoso-2026", help="the key's id, in every token and in /keys.json"
    )
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    service = TokenService(Path(args.key).read_text(), issuer=args.issuer, kid=args.kid)
    server = make_server(service, port=args.port)
    print(f"token service on http://127.0.0.1:{server.server_address[1]}/token")
    server.serve_forever()


if __name__ == "__main__":
    main()
