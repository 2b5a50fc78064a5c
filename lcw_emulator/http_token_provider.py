"""An auth token provider that asks a real HTTP token endpoint, as a page's provider does.

A page's provider fetches a token from its own service and calls back with it::

    function authTokenProvider(callback) {
        fetch("/token", {method: "POST", body: ...})
            .then(response => response.json())
            .then(body => callback(body.token));
    }

:func:`http_token_provider` is that provider for the emulated widget, built on
httpx (the ``http`` extra: ``pip install -e '.[http]'`` in a checkout, or
``pip install httpx``). Point it at your token service on loopback (or pass an
``httpx.AsyncClient`` with an ASGI transport to reach an app in-process) and the
widget judges the tokens your real code mints.

While it waits on the socket it holds the clock, so a virtual clock does not
jump over real I/O: the work stream's provider timeout counts only virtual time.
"""

from __future__ import annotations

import json as json_text
import logging
from collections.abc import Mapping
from typing import Any

try:
    import httpx
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "lcw_emulator.http_token_provider needs httpx, the http extra: "
        "pip install -e '.[http]' in the lcw-emulator checkout, or pip install httpx"
    ) from exc

from .clock import Clock, limit_seconds, require_clock
from .errors import describe_failure, wrong_type
from .providers import AuthTokenCallback, AuthTokenProvider

__all__ = ["DEFAULT_HTTP_TIMEOUT", "TokenEndpointError", "http_token_provider"]

# Real seconds before giving up on the endpoint: the widget's own limit is 10 s.
DEFAULT_HTTP_TIMEOUT = 10.0

# Where a browser's console would show the page's failed fetch.
console = logging.getLogger(__name__)


class TokenEndpointError(Exception):
    """The token endpoint answered, but not with a token (the provider raises it: code 2)."""


def _token_from(response: httpx.Response, token_field: str) -> object:
    """The token in a response: a JSON object's ``token_field``, a JSON string, or the text.

    The text is taken as it is, as a page's ``response.text()`` takes it: a token service
    that ends its answer with a newline gets the token refused, as the real widget would.
    """
    content_type = response.headers.get("content-type", "").lower()  # media types ignore case
    if "json" not in content_type:
        return response.text.removeprefix("\ufeff")  # fetch's text() drops a byte order mark
    try:
        body = response.json()
    except ValueError as exc:
        raise TokenEndpointError(f"the response says JSON but is not: {exc}") from None
    if isinstance(body, Mapping):
        if token_field not in body:
            keys = ", ".join(map(repr, body)) or "none"
            raise TokenEndpointError(
                f"the JSON response has no {token_field!r} field (fields: {keys})"
            )
        return body[token_field]
    return body


def http_token_provider(
    url: str | httpx.URL,
    *,
    clock: Clock,
    method: str = "POST",
    json: Any = None,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
    token_field: str = "token",
    client: httpx.AsyncClient | None = None,
    timeout: float | None = DEFAULT_HTTP_TIMEOUT,
) -> AuthTokenProvider:
    """A provider that requests a token from ``url`` on every call and calls back with it.

    The response may be the token as text, a JSON string, or a JSON object
    holding it under ``token_field``. What a page's provider would suffer
    becomes the documented widget error:

    * the endpoint cannot be reached, or answers a non-2xx status or a body
      with no token: the provider raises (code 2), naming the request and what
      came back;
    * the endpoint takes longer than ``timeout`` real seconds: the provider
      never calls back, as a hung ``fetch`` would (code 3 once the work
      stream's timeout passes on the clock), and says so on the
      ``lcw_emulator`` logger, as a browser's console shows a failed fetch.

    ``json`` is sent as the JSON body (the payload your service turns into a
    JWT); ``client`` is an ``httpx.AsyncClient`` to reuse, otherwise each call
    opens its own. Arguments of the wrong type are refused here, not at chat start, where
    they would read as the endpoint's failure (code 2); a URL that is text but unusable
    fails at chat start, as a page's ``fetch`` does.
    """
    if not isinstance(url, str | httpx.URL) or not str(url):
        raise wrong_type("url", "the token endpoint's URL (text or an httpx.URL)", url)
    require_clock(clock)
    if not isinstance(method, str) or not method:
        raise wrong_type("method", 'an HTTP method, like "POST"', method)
    try:
        json_text.dumps(json)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"json must be what JSON can hold, to send as the body: {exc}") from None
    # Read as httpx reads them (a mapping or pairs; params as text too), and refused with
    # their type only: headers carry credentials, which stay out of a test's log.
    for name, table, read in (
        ("headers", headers, httpx.Headers),
        ("params", params, httpx.QueryParams),
    ):
        if table is not None:
            try:
                read(table)
            except Exception:
                raise TypeError(
                    f"{name} must be what httpx takes as {name} (a mapping of names to values, "
                    f"or pairs), got {type(table).__name__}"
                ) from None
    if not isinstance(token_field, str):
        raise wrong_type("token_field", "a field name", token_field)
    if client is not None and not callable(getattr(client, "request", None)):
        raise wrong_type("client", "an httpx.AsyncClient (or one like it, with request())", client)
    if timeout is not None:  # None is httpx's own "no limit", as math.inf is
        timeout = limit_seconds(timeout, "timeout")

    async def http_token_provider(callback: AuthTokenCallback) -> None:
        # Hold the clock: a virtual clock must not jump while we wait on the socket.
        with clock.hold():
            try:
                if client is not None:
                    response = await client.request(
                        method, url, json=json, headers=headers, params=params, timeout=timeout
                    )
                else:
                    async with httpx.AsyncClient(timeout=timeout) as own:
                        response = await own.request(
                            method, url, json=json, headers=headers, params=params
                        )
            except httpx.TimeoutException as exc:
                console.warning(
                    "%s %s did not answer within %s (%s): the provider gives up without "
                    "calling back, as a hung fetch does",
                    method,
                    url,
                    "any time limit" if timeout is None else f"{timeout:g} s",
                    type(exc).__name__,
                )
                return
            except Exception as exc:
                # Whatever stops the request, as for the public key URL: HTTPError, and also
                # InvalidURL, idna errors, a port past any socket's.
                raise TokenEndpointError(
                    f"{method} {url} could not be reached ({describe_failure(exc)})"
                ) from exc
        if not response.is_success:
            snippet = response.text.strip()[:200]
            raise TokenEndpointError(
                f"{method} {url} answered HTTP {response.status_code}"
                + (f": {snippet}" if snippet else "")
            )
        callback(_token_from(response, token_field))

    return http_token_provider
