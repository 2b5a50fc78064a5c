"""Ready-made auth token providers, well-behaved and not, for tests and scenarios.

Each function returns a provider with the documented shape
``provider(callback)``. The misbehaving ones reproduce what real pages get
wrong: raising, never calling back, calling back twice, calling back with
something that is not a token, or returning the token instead of calling back.
"""

from __future__ import annotations

import decimal
import fractions
import inspect
import json
import math
from collections.abc import Callable, Mapping
from pathlib import PurePath
from typing import Any

from .auth import DEFAULT_TOKEN_LIFETIME, HMAC_KEY_BYTES, KeyPair, mint_token, time_claims
from .clock import Clock, finite_seconds, require_clock
from .errors import wrong_type
from .providers import AuthTokenCallback, AuthTokenProvider

__all__ = [
    "answering_twice",
    "answering_with",
    "delayed",
    "lwicontexts_text",
    "minted_token",
    "never_answering",
    "raising",
    "returning_token",
    "static_token",
]


# Each factory checks what it is given when it is called: a provider made wrongly would
# otherwise fail inside the chat start, as the page's code 2, and pass a test that expects
# the token service to be refused.


def static_token(token: str) -> AuthTokenProvider:
    """Call back at once with the same ``token`` every time (the documentation's sample)."""
    if not isinstance(token, str):
        raise wrong_type(
            "token", "the token's text (to call back with anything, answering_with)", token
        )

    def static_token_provider(callback: AuthTokenCallback) -> None:
        callback(token)

    return static_token_provider


def minted_token(
    signer: KeyPair | str | bytes,
    claims: Mapping[str, Any],
    *,
    clock: Clock,
    context: Mapping[str, Any] | None = None,
    lifetime: float = DEFAULT_TOKEN_LIFETIME,
    algorithm: str | None = None,
    with_kid: bool = False,
) -> AuthTokenProvider:
    """Mint a fresh token per call: ``iat``/``nbf`` now, ``exp`` now + ``lifetime``.

    ``claims`` are taken as given and win over the defaults; ``context`` is
    serialised into ``lwicontexts`` as the documentation asks. ``signer`` is a
    :class:`KeyPair` (RS256) or a shared secret (``algorithm``: HS256, the default, HS384 or
    HS512). Raises :class:`TypeError` or :class:`ValueError` at once for what it cannot use.
    """
    if isinstance(context, str | bytes):
        raise TypeError(
            "context is key/values, serialised into lwicontexts; to hand over lwicontexts "
            "text as it is, pass it as the lwicontexts claim"
        )
    if context is not None and not isinstance(context, Mapping):
        # Pairs are read once, here: an iterator would be empty by the first token. A
        # mapping stays the caller's, read at each call.
        try:
            context = dict(context)
        except (TypeError, ValueError):
            raise wrong_type(
                "context", "key/values (a dict, or key/value pairs)", context
            ) from None
    if context is not None:
        lwicontexts_text(context)  # what it cannot write is refused now, naming the key
    if not isinstance(claims, Mapping):
        raise wrong_type("claims", "a mapping of claim names to values", claims)
    lifetime = finite_seconds(lifetime, "lifetime")
    require_clock(clock)
    if isinstance(signer, KeyPair):
        if algorithm not in (None, "RS256"):
            raise ValueError(
                f"a KeyPair signs RS256, not {algorithm!r}: to sign HS*, pass the shared "
                "secret as the signer"
            )
    elif not isinstance(signer, str | bytes) or not signer:
        # The value is not shown: it may be a secret.
        hint = (
            ": for a key file, KeyPair.from_private_pem(path.read_text())"
            if isinstance(signer, PurePath)
            else ""
        )
        raise TypeError(
            "signer must be a KeyPair (RS256) or a shared secret (non-empty text or bytes), "
            f"got {type(signer).__name__}" + (" (empty)" if signer in ("", b"") else "") + hint
        )
    elif algorithm not in (None, *HMAC_KEY_BYTES):
        raise ValueError(
            f"a shared secret signs {', '.join(HMAC_KEY_BYTES)}, not {algorithm!r}: to sign "
            "RS256, pass a KeyPair as the signer"
        )

    def minted_token_provider(callback: AuthTokenCallback) -> None:
        payload: dict[str, Any] = time_claims(clock.now(), lifetime)
        if context is not None:
            payload["lwicontexts"] = lwicontexts_text(context)
        payload.update(claims)
        if isinstance(signer, KeyPair):
            callback(signer.mint(payload, with_kid=with_kid))
        else:
            callback(mint_token(payload, signer, algorithm=algorithm or "HS256"))

    return minted_token_provider


def lwicontexts_text(context: Mapping[str, Any]) -> str:
    """``context`` as the ``lwicontexts`` claim: the JSON text of its key/values.

    A Decimal or a Fraction (a cart value from a database) is written as the JSON number it
    stands for, as JavaScript has one number type; a value Python's json cannot write at all
    (a set, an object) raises :class:`TypeError` naming its key. NaN is written as json
    writes it, so that a test can see Omnichannel refuse it.
    """
    values = dict(context)
    try:
        return json.dumps(values, default=_json_number)
    except (TypeError, ValueError):
        for key, value in values.items():  # which one: json's own words name none
            try:
                json.dumps(value, default=_json_number)
            except (TypeError, ValueError) as exc:
                message = f"context[{key!r}] cannot be written into lwicontexts: {exc}"
                raise TypeError(message) from None
        raise  # no value: a key json cannot write, in json's own words


def _json_number(value: object) -> int | float:
    if isinstance(value, decimal.Decimal | fractions.Fraction):
        finite = not isinstance(value, decimal.Decimal) or value.is_finite()
        try:
            number = float(value)
        except OverflowError:  # a Fraction past a double
            number = math.inf if value > 0 else -math.inf
        if finite and math.isinf(number):
            # Past a double, however far: the first whole number past one, which Omnichannel
            # refuses as it would this one, with no 10**1000000 built on the way.
            return 2**1024 if number > 0 else -(2**1024)
        return int(value) if finite and value == int(value) else number
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def delayed(answer: str | AuthTokenProvider, seconds: float, *, clock: Clock) -> AuthTokenProvider:
    """Wait ``seconds`` on ``clock``, then answer (a token, or another provider's answer)."""
    if not isinstance(answer, str) and not callable(answer):
        raise wrong_type("answer", "a token or an auth token provider", answer)
    seconds = finite_seconds(seconds, "seconds")
    require_clock(clock)
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
    raisable = isinstance(error, BaseException) or (
        isinstance(error, type) and issubclass(error, BaseException)
    )
    if not isinstance(error, str) and not raisable:
        raise wrong_type("error", "an exception or its message", error)
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
