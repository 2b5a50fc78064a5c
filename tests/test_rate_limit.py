"""getAgentAvailability: 100 calls a minute per org, then HTTP 429, on a window that slides with
the virtual clock (lcw-sdk-facts: "Limit: 100 calls/min/org, then HTTP 429").

The page answers a call from its cache while the customer's context stays the same (for 2
minutes), so these pages change the context before each call, as a page asking "when
customer input changes" does: every call reaches the service.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from lcw_emulator import (
    LcwError,
    Omnichannel,
    RateLimitedError,
    VirtualClock,
    Widget,
    WorkStream,
)
from lcw_emulator.service import AGENT_AVAILABILITY_LIMIT

START = 1542622100.25  # a fractional start: the window must not depend on whole seconds


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(start=START, auto_jump=False)


def changing_input() -> Callable[[], dict[str, object]]:
    """A context provider whose answer changes at every call: the customer keeps typing."""
    typed = itertools.count()
    return lambda: {"search": f"query {next(typed)}"}


async def loaded(org: Omnichannel, name: str = "Contoso help") -> Widget:
    widget = org.widget(WorkStream(name))
    await widget.load()
    widget.sdk.setContextProvider(changing_input())
    return widget


async def call(widget: Widget, times: int) -> list[dict[str, Any]]:
    return [await widget.sdk.getAgentAvailability() for _ in range(times)]


async def test_the_documented_limit_is_100() -> None:
    assert AGENT_AVAILABILITY_LIMIT == 100


async def test_101st_call_in_a_minute_is_http_429(clock: VirtualClock) -> None:
    widget = await loaded(Omnichannel(clock=clock))
    answers = await call(widget, 100)
    assert all(answer["isAgentAvailable"] is True for answer in answers)
    assert widget.timeline.event_names().count("lcw:getAgentAvailability") == 100
    with pytest.raises(RateLimitedError) as caught:
        await widget.sdk.getAgentAvailability()
    error = caught.value
    assert isinstance(error, LcwError)
    assert error.http_status == 429
    assert error.message == "Too Many Requests (HTTP 429)"
    assert "100 calls a minute per org" in error.reason
    assert "retry in 60 s" in error.reason
    # No lcw:getAgentAvailability for the refused call, and no lcw:error: 429 has no LCW code.
    names = widget.timeline.event_names()
    assert names.count("lcw:getAgentAvailability") == 100
    assert "lcw:error" not in names
    assert widget.timeline.find("getAgentAvailability refused", {"httpStatus": 429})


async def test_the_window_slides_on_the_virtual_clock(clock: VirtualClock) -> None:
    widget = await loaded(Omnichannel(clock=clock))
    await call(widget, 50)  # at START
    clock.advance(30)
    await call(widget, 50)  # at START + 30
    clock.advance(29.999)
    with pytest.raises(RateLimitedError) as caught:
        await widget.sdk.getAgentAvailability()
    assert "retry in 0.001 s" in caught.value.reason
    clock.advance(0.001)  # START + 60: the first 50 calls leave the window
    await call(widget, 50)
    with pytest.raises(RateLimitedError):
        await widget.sdk.getAgentAvailability()
    clock.advance(30)  # START + 90: the second 50 leave
    await call(widget, 50)
    with pytest.raises(RateLimitedError):
        await widget.sdk.getAgentAvailability()


async def test_refused_calls_do_not_extend_the_window(clock: VirtualClock) -> None:
    widget = await loaded(Omnichannel(clock=clock))
    await call(widget, 100)
    for _ in range(20):
        clock.advance(2.5)
        with pytest.raises(RateLimitedError):
            await widget.sdk.getAgentAvailability()
    clock.advance(10)  # exactly 60 s after the 100 calls, despite 20 refusals since
    await call(widget, 100)


async def test_the_limit_is_per_org(clock: VirtualClock) -> None:
    org = Omnichannel(clock=clock)
    first, second = await loaded(org, "Sales"), await loaded(org, "Support")
    await call(first, 60)
    await call(second, 40)
    for widget in (first, second):
        with pytest.raises(RateLimitedError):
            await widget.sdk.getAgentAvailability()
    other_org = await loaded(Omnichannel(clock=clock))
    assert len(await call(other_org, 100)) == 100


async def test_calls_queued_before_ready_count_when_replayed(clock: VirtualClock) -> None:
    org = Omnichannel(clock=clock)
    await call(await loaded(org), 99)
    widget = org.widget(WorkStream("Late page"))
    widget.sdk.setContextProvider(changing_input())
    first = widget.sdk.getAgentAvailability()
    second = widget.sdk.getAgentAvailability()
    assert widget.sdk.queued == [
        "setContextProvider",
        "getAgentAvailability",
        "getAgentAvailability",
    ]
    await widget.load()
    assert (await first)["queueId"] == "default"
    with pytest.raises(RateLimitedError):
        await second


async def test_availability_runs_on_the_virtual_clock_with_auto_jump() -> None:
    """With auto-jump, sleeping a minute costs no wall time and reopens the window."""
    clock = VirtualClock(start=START)
    widget = await loaded(Omnichannel(clock=clock))
    await call(widget, 100)
    with pytest.raises(RateLimitedError):
        await widget.sdk.getAgentAvailability()
    await clock.sleep(60)
    assert clock.now() == START + 60
    assert len(await call(widget, 100)) == 100
