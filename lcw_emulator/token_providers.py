"""Ready-made auth token providers, well-behaved and not, for tests and scenarios.

Each function returns a provider with the documented shape
``provider(callback)``. The misbehaving ones reproduce what real pages get
wrong: raising, never calling back, calling back twice, calling back with
something that is not a token, or returning the token instead of calling back.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping
from typing import Any

from .auth import KeyPair, mint_token, time_claims
from .clock import Clock
from .providers import AuthTokenCallback, AuthTokenProvider

__all__ = [
    "answering_twice",
    "answering_with",
    "delayed",
    "minted_token",
    "never_answering",
    "raising",
    "returning_token",
    "static_token",
]


def static_token(token: str) -> AuthTokenProvider:
    """Call back at once with the same ``token`` every time (the documentation's sample)."""

    def static_token_provider(callback: AuthTokenCallback) -> None:
        callback(token)

    return static_token_provider


def minted_token(
    signer: KeyPair | str,
    claims: Mapping[str, Any],
    *,
    clock: Clock,
    context: Mapping[str, Any] | None = None,
    lifetime: float = 3600.0,
    algorithm: str | None = None,
    with_kid: bool = False,
) -> AuthTokenProvider:
    """Mint a fresh token per call: ``iat``/``nbf`` now, ``exp`` now + ``lifetime``.

    ``claims`` are taken as given and win over the defaults; ``context`` is
    serialised into ``lwicontexts`` as the documentation asks. ``signer`` is a
    :class:`KeyPair` (RS256) or an HS256 shared secret. Raises :class:`TypeError` at once
    for a ``context`` or a ``lifetime`` given as text.
    """
    if isinstance(context, str | bytes):
        raise TypeError(
            "context is key/values, serialised into lwicontexts; to hand over lwicontexts "
            "text as it is, pass it as the lwicontexts claim"
        )
    if isinstance(lifetime, str | bytes | bool):
        raise TypeError(
            f"lifetime must be a number of seconds, got {type(lifetime).__name__} {lifetime!r}"
        )

    def minted_token_provider(callback: AuthTokenCallback) -> None:
        payload: dict[str, Any] = time_claims(clock.now(), lifetime)
        if context is not None:
            payload["lwicontexts"] = json.dumps(dict(context))
        payload.update(claims)
        if isinstance(signer, KeyPair):
            callback(signer.mint(payload, with_kid=with_kid))
        else:
            callback(mint_token(payload, signer, algorithm=algorithm or "HS256"))

    return minted_token_provider


def delayed(answer: str | AuthTokenProvider, seconds: float, *, clock: Clock) -> AuthTokenProvider:
    """Wait ``seconds`` on ``clock``, then answer (a token, or another provider's answer)."""
    inner = static_token(answer) if isinstance(answer, str) else answer

    async def delayed_provider(callback: AuthTokenCallback) -> object:
        await clock.sleep(seconds)
        result = inner(callback)
        if inspect.isawaitable(result):
            result = await result
        return result  # what the inner provider returned (a token, by mistake) stays seen

    return delayed_provider


def raising(error: BaseException | str = "token service unavailable") -> AuthTokenProvider:
    """Raise instead of calling back (code 2)."""
    exception = RuntimeError(error) if isinstance(error, str) else error

    def raising_provider(callback: AuthTokenCallback) -> None:
        raise exception

    return raising_provider


def never_answering() -> AuthTokenProvider:
    """Never call back (code 3 once the work stream's timeout passes)."""

    def never_answering_provider(callback: AuthTokenCallback) -> None:
        return None

    return never_answering_provider


def answering_twice(first: str, second: str) -> AuthTokenProvider:
    """Call back twice; the widget takes the first and notes the second."""

    def answering_twice_provider(callback: AuthTokenCallback) -> None:
        callback(first)
        callback(second)

    return answering_twice_provider


def answering_with(value: object) -> AuthTokenProvider:
    """Call back with any value: ``None``, ``""``, a number, a garbage string."""

    def answering_with_provider(callback: AuthTokenCallback) -> None:
        callback(value)

    return answering_with_provider


def returning_token(token: str) -> Callable[[AuthTokenCallback], str]:
    """Return the token instead of calling back: a common mistake (code 3, with a hint)."""

    def returning_token_provider(callback: AuthTokenCallback) -> str:
        return token

    return returning_token_provider
