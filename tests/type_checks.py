"""What a strictly typed user sees: checked by ``mypy --strict`` in ``.ci/run``, never run.

Each ``assert_type`` fails the type check when a public call's type widens (to ``Any``, say),
which would let a typo in a user's test pass unchecked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import assert_type

from lcw_emulator import (
    AgentAvailability,
    ChatSession,
    CustomEvent,
    LcwEmulator,
    LcwError,
    Widget,
)
from lcw_emulator.errors import ErrorCode


def sync_calls(lcw: LcwEmulator) -> None:
    assert_type(lcw.run(lcw.sdk.startChat), ChatSession)
    assert_type(lcw.run(lcw.sdk.start_chat, {"customContext": {"plan": "gold"}}), ChatSession)
    assert_type(lcw.run(lcw.sdk.startChat()), ChatSession)
    assert_type(lcw.run(lcw.sdk.getAgentAvailability), AgentAvailability)
    assert_type(lcw.run(lcw.sdk.closeChat), None)
    assert_type(lcw.run(lcw.widget.load), None)
    assert_type(lcw.run(lambda: 5), int)


async def async_calls(widget: Widget) -> None:
    session = await widget.sdk.startChat()
    assert_type(session, ChatSession)
    assert_type(session.customer_id, str | None)
    availability = await widget.sdk.getAgentAvailability()
    assert_type(availability["positionInQueue"], int)
    assert_type(availability["isAgentAvailable"], bool)
    # As the JavaScript object reads: result.isAgentAvailable.
    assert_type(availability.isAgentAvailable, bool)
    assert_type(availability.averageWaitTime, float)
    # A misspelt key fails the check, as a TypedDict's does (strict mypy warns of an unused
    # ignore, so this line fails the run if it ever type-checks).
    availability["isAgentAvailble"]  # type: ignore[call-overload]
    print(availability.isAgentAvailble)  # type: ignore[attr-defined]  # as JavaScript reads it


def the_documented_error_listener(errorEvent: CustomEvent) -> None:
    # README's idiom, as JavaScript reads it: no None check in the way.
    code: int = errorEvent.detail.errorCode
    reason: str = errorEvent.detail["reason"]
    print(code, reason)


def error_fields(error: LcwError) -> None:
    assert_type(error.code, ErrorCode | None)
    assert_type(error.reason, str)
    assert_type(error.claim, str | None)


def calls_a_type_checker_refuses(widget: Widget) -> None:
    # Each would fail at run time; strict mypy warns of an unused ignore if one type-checks.
    widget.sdk.startProactiveChat()  # type: ignore[call-arg]  # notificationUIConfig is required
    widget.sdk.setBotAuthTokenProvider(lambda: None)  # type: ignore[arg-type, misc]  # fn(url, callback)
    widget.sdk.setAuthTokenProvider(lambda: None)  # type: ignore[arg-type, misc]  # fn(callback)


def calls_a_type_checker_takes(widget: Widget) -> None:
    def bot_provider(bot_token_url: str, callback: Callable[[dict[str, bool]], None]) -> None:
        callback({"show": True})

    widget.sdk.setBotAuthTokenProvider(bot_provider)
    widget.sdk.startProactiveChat({"message": "Need help?"}, False, {"inNewWindow": False})
