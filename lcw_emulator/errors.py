"""One exception family: the documented error code and message, plus our reason.

The real widget only reports a code and a fixed description ("Auth token
provider provided invalid token"); :attr:`LcwError.reason` says which rule or
claim failed and why, so a failing test explains itself.
"""

from __future__ import annotations

import enum
import operator
from typing import Any

__all__ = [
    "ChatStateError",
    "ConfigurationError",
    "ErrorCode",
    "ForeignError",
    "LcwError",
    "ListenerWarning",
    "RateLimitedError",
    "SdkUsageError",
    "WidgetNotReadyError",
    "describe_failure",
    "whole_number",
    "wrong_type",
]


class ForeignError(Exception):
    """An error raised outside Python (a page's JavaScript), told by its own text alone."""


def printable(text: str) -> str:
    """``text`` with what a terminal would act on (a newline, an escape) shown escaped.

    For reasons that quote what a token or page sent, in one line of a report: a newline
    there could forge a line of its own, an escape sequence colour the terminal.
    """
    if text.isprintable():
        return text
    return "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
        for char in text
    )


def wrong_type(what: str, expected: str, value: object) -> TypeError:
    """The :class:`TypeError` for ``what`` given ``value`` where it takes ``expected``.

    Raised where a value is built, so that a mistake in a test's setup is named there and
    not met later, deep inside a chat start, as an error of the chat.
    """
    return TypeError(f"{what} must be {expected}, got {type(value).__name__} {value!r:.60}")


def whole_number(value: object, name: str) -> int:
    """``value`` as an int: what ``operator.index`` takes, or a whole float (``8192.0``)."""
    if isinstance(value, str | bytes | bool):  # numbers to int(), not to a caller counting
        raise wrong_type(name, "a whole number", value)
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        pass
    try:
        # Exact for a Decimal or a Fraction: no rounding through a float on the way.
        whole: int = int(value)  # type: ignore[call-overload]
    except (ValueError, OverflowError):  # NaN, infinity
        raise ValueError(f"{name} must be a whole number, got {value!r:.40}") from None
    except TypeError:
        raise wrong_type(name, "a whole number", value) from None
    if whole != value:
        raise ValueError(f"{name} must be a whole number, got {value!r:.40}")
    return whole


def describe_failure(error: BaseException) -> str:
    """``Type: message`` of what went wrong; for an exception group, of the first error in it.

    A request cut short inside anyio's task group (httpx under asyncio) arrives as
    "unhandled errors in a TaskGroup", which says nothing of the socket that failed. A
    :class:`ForeignError` is its text: a page's ``Error: token service down``, not ours.
    """
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    if isinstance(error, ForeignError):
        return str(error) or "an error with no message"
    message = str(error)  # a ReadError, say, may carry none: then its name says it all
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


class ErrorCode(enum.IntEnum):
    """The live chat widget's documented ``lcw:error`` codes (5 and 6 do not exist)."""

    CONTEXT_PROVIDER_FAILED = 1
    AUTH_PROVIDER_FAILED = 2
    NO_AUTH_TOKEN = 3
    INVALID_AUTH_TOKEN = 4
    WIDGET_LOAD_FAILED = 7
    AUTH_PROVIDER_NOT_FOUND = 8

    @property
    def message(self) -> str:
        """The documented ``errorDescription`` for this code."""
        return _MESSAGES[self]


# Wording from the error-code reference (04/04/2022); the setContextProvider
# page drops "Custom" from code 1, the reference table keeps it.
_MESSAGES = {
    ErrorCode.CONTEXT_PROVIDER_FAILED: "Custom context provider method execution failed",
    ErrorCode.AUTH_PROVIDER_FAILED: "Auth token provider method execution failed",
    ErrorCode.NO_AUTH_TOKEN: "Auth token provider didn't provide any token",
    ErrorCode.INVALID_AUTH_TOKEN: "Auth token provider provided invalid token",
    ErrorCode.WIDGET_LOAD_FAILED: "Live chat widget scripts failed to load",
    ErrorCode.AUTH_PROVIDER_NOT_FOUND: "Auth function cannot be found on webpage",
}


class LcwError(Exception):
    """Base of every error about the widget, the service or a chat that lcw-emulator raises.

    Outside the family, by Python's convention or on purpose: :class:`TypeError` and
    :class:`ValueError` for an argument that is wrong (``clock.ClockLimitError`` is a
    ``ValueError``), except a scenario step's (:class:`ConfigurationError`) and an SDK
    method's (:class:`SdkUsageError`), which are in the family and a ``ValueError`` or
    ``TypeError`` too; ``scenario_runner.ScenarioStuck`` for a step that waits forever; and
    ``http_token_provider.TokenEndpointError``, which that provider raises as a page's
    provider would, and which the widget reports as code 2.

    ``code`` is the documented ``lcw:error`` code, or ``None`` for errors the
    real widget raises without one (a provider that is not a function).
    ``message`` is the documented description; ``reason`` is ours, and so is
    ``claim``, which names the claim or header field a refused token broke.
    """

    def __init__(
        self,
        code: ErrorCode | None,
        reason: str,
        *,
        message: str | None = None,
        claim: str | None = None,
    ) -> None:
        self.code = code
        self.message = message if message is not None else (code.message if code else reason)
        self.reason = reason
        self.claim = claim  # for code 4: the claim or header field at fault
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.code is None:
            return self.reason if self.message == self.reason else f"{self.message}: {self.reason}"
        return f"[{int(self.code)}] {self.message}: {self.reason}"

    def __repr__(self) -> str:
        claim = f", claim={self.claim!r}" if self.claim is not None else ""
        return f"{type(self).__name__}(code={self.code!r}, reason={self.reason!r}{claim})"

    def __reduce__(self) -> tuple[Any, ...]:
        # An exception pickles as cls(*args), and ours take their fields by name: rebuilt
        # from its state instead, an error raised in a worker process reaches the parent
        # whole (copy.copy goes this way too).
        return (_rebuilt, (type(self), self.args, self.__dict__))

    @property
    def detail(self) -> dict[str, object]:
        """The ``lcw:error`` event detail: documented keys plus our ``reason``."""
        detail: dict[str, object] = {
            "errorCode": int(self.code) if self.code is not None else None,
            "errorDescription": self.message,
            "reason": self.reason,
        }
        if self.code is ErrorCode.WIDGET_LOAD_FAILED:
            detail["errorDetail"] = self.reason  # the reference: code 7, "see errorDetail"
        return detail


def _rebuilt(cls: type[LcwError], args: tuple[object, ...], state: dict[str, Any]) -> LcwError:
    error = cls.__new__(cls, *args)
    error.__dict__.update(state)
    return error


class SdkUsageError(LcwError, TypeError):
    """An SDK method was called the way the real SDK throws on (no code)."""

    def __init__(self, reason: str) -> None:
        super().__init__(None, reason)


class WidgetNotReadyError(LcwError, RuntimeError):
    """Strict mode: an SDK method was called before ``lcw:ready``."""

    def __init__(self, method: str) -> None:
        super().__init__(
            None,
            f"{method}() was called before lcw:ready; the real widget would fail here "
            "(listen for lcw:ready before calling SDK methods)",
        )
        self.method = method


class ConfigurationError(LcwError, ValueError):
    """A work stream, key or scenario file cannot be used as given."""

    def __init__(self, reason: str, *, source: str | None = None) -> None:
        self.source = source
        self.problem = reason  # what is wrong, without the file it is in
        super().__init__(None, f"{source}: {reason}" if source else reason)


class RateLimitedError(LcwError):
    """The org's documented request limit was hit (HTTP 429)."""

    http_status = 429

    def __init__(self, reason: str) -> None:
        super().__init__(None, reason, message="Too Many Requests (HTTP 429)")


class ChatStateError(LcwError, RuntimeError):
    """An operation does not fit the chat session's current state."""

    def __init__(self, reason: str) -> None:
        super().__init__(None, reason)


class ListenerWarning(UserWarning):
    """A test's page listener raised, or listens for an ``lcw:*`` event that never fires.

    The widget records it and goes on, as a browser does; :class:`LcwEmulator` (and so the
    pytest fixtures) warns of it when the test ends, so it shows in pytest's summary.
    """


def hide_for_lcw_errors(excinfo: Any) -> bool:
    """A ``__tracebackhide__`` for the frames a chat start passes through.

    pytest then leaves them out of a documented failure's traceback, whose code and reason say
    what went wrong, as ``LcwEmulator.run`` does; any other exception keeps them, since it
    would be a bug of ours to find.
    """
    return isinstance(getattr(excinfo, "value", None), LcwError)
