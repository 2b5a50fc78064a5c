"""Where a work stream's public keys come from when its auth settings name a URL.

The admin setting in Omnichannel is a *public key URL*: the service fetches the
keys from it. A :class:`PublicKeySource` is that fetch, kept out of
:mod:`.auth` so that :func:`~lcw_emulator.auth.validate_token` stays a pure
rule over keys it is handed. Two sources ship:

* :class:`StaticKeySource` answers with keys given in code, no I/O: inject it
  to pretend a URL serves them (and change them to play a rotation);
* :class:`HttpKeySource` fetches the URL with httpx (the ``http`` extra),
  accepts every form :func:`~lcw_emulator.auth.load_public_keys` reads (PEM,
  key array, JWKS), caches the answer, and refetches once when a token names
  a ``kid`` it does not know, at most once per ``refetch_interval`` seconds on
  the service's clock. While it waits on the socket it holds the clock, so a
  virtual clock does not jump over the real I/O.

Omnichannel documents neither caching nor rotation; the defaults here are ours
and the README says so.
"""

from __future__ import annotations

import asyncio
import copy
import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import jwt

from .auth import ChatAuthSettings, PublicKey, load_public_keys
from .clock import Clock, describe_seconds, limit_seconds
from .errors import ErrorCode, LcwError, describe_failure, wrong_type
from .events import EntryKind, Recorder

if TYPE_CHECKING:
    import httpx

__all__ = [
    "DEFAULT_FETCH_TIMEOUT",
    "DEFAULT_MAX_AGE",
    "DEFAULT_REFETCH_INTERVAL",
    "HttpKeySource",
    "KeyRecorder",
    "PublicKeySource",
    "StaticKeySource",
    "token_kid",
]

# An unknown kid may trigger a refetch this often at most (seconds of the clock).
DEFAULT_REFETCH_INTERVAL = 60.0
# Fetched keys are used this long before the next chat start refetches them.
DEFAULT_MAX_AGE = 12 * 3600.0
# Real seconds to wait for the key endpoint.
DEFAULT_FETCH_TIMEOUT = 10.0

KeyRecorder = Recorder  # the name this module has always exported


def token_kid(token: object) -> str | None:
    """The ``kid`` in a token's header, or ``None`` (no kid, or no readable header)."""
    if not isinstance(token, str):
        return None
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except (jwt.PyJWTError, ValueError, RecursionError):  # a lone surrogate raises ValueError
        return None
    return kid if isinstance(kid, str) else None


def _knows(keys: tuple[PublicKey, ...], kid: str | None) -> bool:
    """False only when the keys carry kids and none is ``kid``."""
    identified = {key.kid for key in keys if key.kid is not None}
    return kid is None or not identified or kid in identified


async def _wait_for_fetch(fetching: asyncio.Future[None]) -> None:
    """Wait for another chat start's fetch; raise its failure, as this start would meet it.

    The failure is raised as a copy, so each start's error carries its own traceback.
    """
    try:
        await asyncio.shield(fetching)
    except LcwError as error:
        raise copy.copy(error).with_traceback(None) from None
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if fetching.cancelled() and not (task is not None and task.cancelling()):
            return  # the start that fetched was cancelled, not this one: look again
        raise


def _ignore(kind: EntryKind, name: str, detail: Mapping[str, Any]) -> None:
    return None


class PublicKeySource(Protocol):
    """Answers with the keys behind ``settings.public_key_url``, for a token naming ``kid``."""

    async def public_keys(
        self,
        settings: ChatAuthSettings,
        *,
        kid: str | None,
        clock: Clock,
        record: KeyRecorder | None = None,
    ) -> tuple[PublicKey, ...]:
        """Raise :class:`LcwError` code 4 when the keys cannot be had."""
        ...


class StaticKeySource:
    """Serve ``keys`` for any public key URL, with no I/O.

    Assign :attr:`keys` to rotate them; :attr:`requests` counts the lookups.
    """

    def __init__(self, keys: tuple[PublicKey, ...] | list[PublicKey]) -> None:
        self.keys = keys  # the setter checks them and makes them a tuple
        self.requests = 0

    @property
    def keys(self) -> tuple[PublicKey, ...]:
        """The keys every lookup answers; assign new ones to rotate them (checked as given)."""
        return self._keys

    @keys.setter
    def keys(self, keys: tuple[PublicKey, ...] | list[PublicKey]) -> None:
        # Checked here, not at the chat start that reads them, where a str's letters or a
        # PEM text would fail with no lcw:error.
        if isinstance(keys, str | bytes) or not isinstance(keys, Iterable):
            hint = (
                ": read PEM or JSON key text with load_public_keys(text)"
                if isinstance(keys, str | bytes)
                else ""
            )
            raise TypeError(f"keys must be PublicKey values, got {type(keys).__name__}{hint}")
        keys = tuple(keys)
        strays = [type(key).__name__ for key in keys if not isinstance(key, PublicKey)]
        if strays:
            raise TypeError(
                f"keys must be PublicKey values, got {', '.join(strays)} (load_public_keys(text) "
                "reads PEM or JSON key text)"
            )
        self._keys = keys

    async def public_keys(
        self,
        settings: ChatAuthSettings,
        *,
        kid: str | None,
        clock: Clock,
        record: KeyRecorder | None = None,
    ) -> tuple[PublicKey, ...]:
        """Answer :attr:`keys` for any URL or ``kid``; each call counts in :attr:`requests`."""
        self.requests += 1
        return self.keys


class _Cached:
    __slots__ = ("fetched_at", "keys", "last_attempt")

    def __init__(self, keys: tuple[PublicKey, ...], at: float) -> None:
        self.keys = keys
        self.fetched_at = at
        self.last_attempt = at


class HttpKeySource:
    """Fetch the public key URL over HTTP, cache it, refetch on an unknown ``kid``.

    ``client`` is an ``httpx.AsyncClient`` to use (for example one with a
    mock or ASGI transport); by default each fetch opens its own.
    :attr:`fetches` lists every URL fetched, in order.
    """

    def __init__(
        self,
        *,
        client: httpx.AsyncClient | None = None,
        refetch_interval: float = DEFAULT_REFETCH_INTERVAL,
        max_age: float | None = DEFAULT_MAX_AGE,
        timeout: float | None = DEFAULT_FETCH_TIMEOUT,
    ) -> None:
        # Every org makes one of these: the defaults, floats in range, pass without a call.
        if type(refetch_interval) is not float or not 0 <= refetch_interval < math.inf:
            # math.inf: never refetch for an unknown kid.
            refetch_interval = limit_seconds(refetch_interval, "refetch_interval", zero=True)
        if max_age is not None and (type(max_age) is not float or not 0 <= max_age < math.inf):
            max_age = limit_seconds(max_age, "max_age", zero=True)
        if timeout is not None and (type(timeout) is not float or not 0 < timeout < math.inf):
            timeout = limit_seconds(timeout, "timeout")  # None: httpx's "no limit"
        if client is not None and not callable(getattr(client, "get", None)):
            raise wrong_type("client", "an httpx.AsyncClient (or one like it, with get())", client)
        self.client = client
        self.refetch_interval = refetch_interval
        self.max_age = max_age
        self.timeout = timeout
        self.fetches: list[str] = []
        self._cache: dict[str, _Cached] = {}
        # A fetch in progress per URL: a chat start that comes meanwhile waits for its answer
        # rather than judge its token by the keys that fetch is replacing.
        self._fetching: dict[str, asyncio.Future[None]] = {}

    def forget(self) -> None:
        """Drop every cached key set (the next chat start fetches again)."""
        self._cache.clear()

    async def public_keys(
        self,
        settings: ChatAuthSettings,
        *,
        kid: str | None,
        clock: Clock,
        record: KeyRecorder | None = None,
    ) -> tuple[PublicKey, ...]:
        """The keys at ``settings.public_key_url``, from the cache while fresh and knowing ``kid``.

        A stale cache refetches; an unknown ``kid`` refetches at most once per
        :attr:`refetch_interval`. Without a URL, the settings' own keys. Raises :class:`LcwError`
        code 4 when the keys cannot be fetched or read.
        """
        record = record or _ignore
        url = settings.public_key_url
        if url is None:
            return settings.keys
        while True:
            now = clock.now()
            cached = self._cache.get(url)
            stale = (
                cached is not None
                and self.max_age is not None
                and now >= cached.fetched_at + self.max_age
            )
            if cached is not None and not stale and _knows(cached.keys, kid):
                return cached.keys  # fresh and enough for this token: no fetch to wait for
            fetching = self._fetching.get(url)
            if fetching is None:
                break
            await _wait_for_fetch(fetching)  # its answer may be the keys this token needs
        if cached is not None:
            if not stale and now < cached.last_attempt + self.refetch_interval:
                record(
                    EntryKind.NOTE,
                    "public keys not refetched",
                    {
                        "url": url,
                        "kid": kid,
                        "why": f"unknown kid, but the keys were fetched less than "
                        f"{describe_seconds(self.refetch_interval)} s ago",
                    },
                )
                return cached.keys
            cached.last_attempt = now
            why = "stale" if stale else f"unknown kid {kid!r}"
        else:
            why = "first use"
        fetching = self._fetching[url] = asyncio.get_running_loop().create_future()
        try:
            keys = await self._fetch(url, clock)
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                fetching.cancel()
            else:
                fetching.set_exception(exc)
                fetching.exception()  # nobody may be waiting for it
            raise
        else:
            fetching.set_result(None)
        finally:
            del self._fetching[url]
        self._cache[url] = _Cached(keys, now)
        record(
            EntryKind.SERVICE,
            "public keys fetched",
            {"url": url, "why": why, "kids": [key.kid for key in keys]},
        )
        return keys

    async def _fetch(self, url: str, clock: Clock) -> tuple[PublicKey, ...]:
        try:
            import httpx
        except ImportError:  # pragma: no cover - depends on the environment
            raise LcwError(
                ErrorCode.INVALID_AUTH_TOKEN,
                f"the work stream's public key URL {url} cannot be fetched: httpx is not "
                "installed (the http extra: pip install -e '.[http]' in the lcw-emulator "
                "checkout, or pip install httpx)",
            ) from None
        self.fetches.append(url)

        def refused(why: str) -> LcwError:
            return LcwError(
                ErrorCode.INVALID_AUTH_TOKEN,
                f"the public key URL {url} {why}, so no token can be verified",
            )

        # Hold the clock: a virtual clock must not jump while we wait on the socket.
        with clock.hold():
            try:
                if self.client is not None:
                    response = await self.client.get(url, timeout=self.timeout)
                else:
                    async with httpx.AsyncClient(timeout=self.timeout) as client:
                        response = await client.get(url)
            except Exception as exc:
                # Whatever stops the request is the fetch failing, not a crash: httpx raises
                # HTTPError, but also InvalidURL for a host it cannot use (256.1.1.1), idna
                # errors for a name it cannot encode, and an address past any port raises
                # from the socket itself.
                raise refused(f"could not be fetched ({describe_failure(exc)})") from exc
        if response.status_code != 200:
            raise refused(f"answered HTTP {response.status_code}")
        try:
            return load_public_keys(response.text)
        except ValueError as exc:
            raise refused(f"answered something that is not a public key ({exc})") from None
