"""Every documented lcw:error code, produced by a real provider, arrives as event and exception."""

from __future__ import annotations

import asyncio
import copy
import math
import pickle
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from lcw_emulator import (
    ChatStateError,
    ConfigurationError,
    ErrorCode,
    LcwError,
    Omnichannel,
    RateLimitedError,
    SdkUsageError,
    VirtualClock,
    Widget,
    WidgetNotReadyError,
    WorkStream,
)
from lcw_emulator.events import EntryKind
from lcw_emulator.token_providers import (
    answering_twice,
    answering_with,
    delayed,
    never_answering,
    raising,
    returning_token,
    static_token,
)

UNAUTHENTICATED = WorkStream.from_dict(
    {
        "name": "Open chat",
        "context_variables": [{"name": "msdyn_cartvalue", "type": "Number"}],
    }
)


def errors_of(widget: Widget) -> list[dict[str, Any]]:
    return [dict(entry.detail) for entry in widget.timeline.find("lcw:error")]


async def start_expecting(widget: Widget, code: ErrorCode, fragment: str) -> LcwError:
    heard: list[Any] = []
    widget.on("lcw:error", lambda event: heard.append(event.detail))
    with pytest.raises(LcwError) as caught:
        await widget.sdk.startChat()
    error = caught.value
    assert error.code is code, error
    assert error.message == code.message
    assert fragment in error.reason, error.reason
    # the same error as an lcw:error event, with the documented detail
    assert heard == [
        {"errorCode": int(code), "errorDescription": code.message, "reason": error.reason}
    ]
    assert widget.session is None
    return error


async def loaded(org: Omnichannel, work_stream: WorkStream) -> Widget:
    widget = org.widget(work_stream)
    await widget.load()
    return widget


async def test_code_1_context_provider_raises(org: Omnichannel) -> None:
    widget = await loaded(org, UNAUTHENTICATED)

    def contextProvider() -> dict[str, Any]:
        raise KeyError("cart")

    widget.sdk.setContextProvider(contextProvider)
    await start_expecting(
        widget, ErrorCode.CONTEXT_PROVIDER_FAILED, "the context provider raised KeyError: 'cart'"
    )


async def test_code_1_context_provider_returns_no_object(org: Omnichannel) -> None:
    widget = await loaded(org, UNAUTHENTICATED)
    widget.sdk.setContextProvider(lambda: ["msdyn_cartvalue", 1])
    await start_expecting(widget, ErrorCode.CONTEXT_PROVIDER_FAILED, "it must return an object")


async def test_code_1_async_context_provider_never_answers(
    org: Omnichannel, clock: VirtualClock
) -> None:
    widget = await loaded(org, UNAUTHENTICATED)

    async def contextProvider() -> dict[str, Any]:
        await asyncio.Event().wait()
        return {}

    widget.sdk.setContextProvider(contextProvider)
    start = clock.now()
    await start_expecting(widget, ErrorCode.CONTEXT_PROVIDER_FAILED, "did not answer within 10 s")
    assert clock.now() - start == 10


async def test_code_2_provider_raises(org: Omnichannel, contoso: WorkStream) -> None:
    widget = await loaded(org, contoso)
    widget.sdk.setAuthTokenProvider(raising(ConnectionError("token service down")))
    await start_expecting(
        widget,
        ErrorCode.AUTH_PROVIDER_FAILED,
        "the provider raised ConnectionError: token service down",
    )


async def test_code_2_async_provider_raises_before_calling_back(
    org: Omnichannel, contoso: WorkStream, clock: VirtualClock
) -> None:
    widget = await loaded(org, contoso)

    async def authTokenProvider(callback: Callable[[str], None]) -> None:
        await clock.sleep(1)
        raise PermissionError("no session cookie")

    widget.sdk.setAuthTokenProvider(authTokenProvider)
    await start_expecting(
        widget, ErrorCode.AUTH_PROVIDER_FAILED, "PermissionError: no session cookie"
    )


async def test_code_2_async_provider_cancelled(org: Omnichannel, contoso: WorkStream) -> None:
    widget = await loaded(org, contoso)

    async def authTokenProvider(callback: Callable[[str], None]) -> None:
        raise asyncio.CancelledError

    widget.sdk.setAuthTokenProvider(authTokenProvider)
    await start_expecting(widget, ErrorCode.AUTH_PROVIDER_FAILED, "was cancelled")


async def test_code_3_provider_never_calls_back_costs_no_wall_time(
    org: Omnichannel, contoso: WorkStream, clock: VirtualClock
) -> None:
    widget = await loaded(org, contoso)
    widget.sdk.setAuthTokenProvider(never_answering())
    before_virtual, before_wall = clock.now(), time.perf_counter()
    await start_expecting(widget, ErrorCode.NO_AUTH_TOKEN, "did not call back within 10 s")
    wall = time.perf_counter() - before_wall
    assert clock.now() - before_virtual == 10
    assert wall < 0.05, f"a 10 s virtual timeout took {wall * 1000:.1f} ms of wall time"


async def test_code_3_over_real_work_says_the_clock_jumped_over_it(
    org: Omnichannel, contoso: WorkStream, clock: VirtualClock
) -> None:
    # A provider whose round trip to a token service was not wrapped in clock.hold(): the
    # virtual 10 s pass at once, and the reason must not leave the service looking slow.
    widget = await loaded(org, contoso)
    loop = asyncio.get_running_loop()
    reply: asyncio.Future[str] = loop.create_future()
    round_trip = loop.call_later(3600, reply.set_result, "never needed")  # a real timer

    async def authTokenProvider(callback: Callable[[str], None]) -> None:
        callback(await reply)

    widget.sdk.setAuthTokenProvider(authTokenProvider)
    try:
        error = await start_expecting(widget, ErrorCode.NO_AUTH_TOKEN, "of virtual time")
    finally:
        round_trip.cancel()
        reply.cancel()
    assert error.reason.startswith(
        "the provider did not call back within 10 s of virtual time, while it still waited "
        "on real work (a timer, a thread or a socket)"
    ), error.reason
    assert "clock.hold()" in error.reason


async def test_code_1_over_real_work_says_the_clock_jumped_over_it_too(
    org: Omnichannel, clock: VirtualClock
) -> None:
    # The same round trip in an async context provider: code 1, with the same hint.
    widget = await loaded(org, UNAUTHENTICATED)
    loop = asyncio.get_running_loop()
    reply: asyncio.Future[dict[str, Any]] = loop.create_future()
    round_trip = loop.call_later(3600, reply.set_result, {})  # a real timer

    async def contextProvider() -> dict[str, Any]:
        return await reply

    widget.sdk.setContextProvider(contextProvider)
    try:
        error = await start_expecting(widget, ErrorCode.CONTEXT_PROVIDER_FAILED, "virtual time")
    finally:
        round_trip.cancel()
    assert error.reason.startswith(
        "the context provider did not answer within 10 s of virtual time, while it still "
        "waited on real work (a timer, a thread or a socket)"
    ), error.reason
    assert "clock.hold()" in error.reason
    assert reply.cancelled()  # given up at the deadline, as before: nothing left running
    # With no real work behind it, the reason stays plain.
    widget.sdk.setContextProvider(never_answering_context)
    error = await start_expecting(widget, ErrorCode.CONTEXT_PROVIDER_FAILED, "within 10 s")
    assert error.reason == "the context provider did not answer within 10 s"


async def test_code_1_at_the_limit_waits_for_the_providers_own_cleanup(
    org: Omnichannel, clock: VirtualClock
) -> None:
    # Given up at the deadline, the provider is cancelled and its cleanup runs before the
    # chat start fails: nothing it started outlives the start.
    widget = await loaded(org, UNAUTHENTICATED)
    cleaned: list[float] = []

    async def contextProvider() -> dict[str, Any]:
        try:
            await clock.sleep(30)
        except asyncio.CancelledError:
            await clock.sleep(1)  # closing a connection, say
            cleaned.append(clock.now() - start)
            raise
        return {}

    widget.sdk.setContextProvider(contextProvider)
    start = clock.now()
    await start_expecting(widget, ErrorCode.CONTEXT_PROVIDER_FAILED, "within 10 s")
    assert cleaned == [11]


async def never_answering_context() -> dict[str, Any]:
    await asyncio.Event().wait()
    return {}


async def test_code_3_with_an_unrelated_server_on_the_loop_has_no_real_work_hint(
    org: Omnichannel, contoso: WorkStream, clock: VirtualClock
) -> None:
    widget = await loaded(org, contoso)
    never = asyncio.Event()

    async def authTokenProvider(callback: Callable[[str], None]) -> None:
        await never.wait()  # no I/O at all

    widget.sdk.setAuthTokenProvider(authTokenProvider)
    server = await asyncio.start_server(lambda reader, writer: None, "127.0.0.1", 0)
    try:
        error = await start_expecting(widget, ErrorCode.NO_AUTH_TOKEN, "within 10 s")
    finally:
        server.close()
        await server.wait_closed()
    assert error.reason == "the provider did not call back within 10 s"


class _ComparesOddly:
    def __eq__(self, other: object) -> bool:
        raise ValueError("the truth value of an array is ambiguous")

    __hash__ = object.__hash__


@pytest.mark.parametrize(
    ("waits_on", "hinted"),
    [
        ("sleep, beside an odd timer", True),  # someone else's timer argument with odd ==
        ("thread", True),  # requests.post(...) in a thread, as many providers do
        ("gather(sleep)", True),  # real work behind asyncio.gather
        ("gather(plain future fed by a timer)", True),
        ("wait_for(sleep)", True),  # real work behind a real deadline
        ("wait_for(thread)", True),
        ("wait_for(run_in_executor)", True),  # a plain future, not a task
        ("wait_for(gather(sleep))", True),
        ("wait_for(event)", False),  # a real deadline around no work is no work
        ("event", False),
    ],
)
async def test_the_real_work_hint_reads_through_gather_and_wait_for(
    org: Omnichannel, contoso: WorkStream, clock: VirtualClock, waits_on: str, hinted: bool
) -> None:
    widget = await loaded(org, contoso)
    loop = asyncio.get_running_loop()
    never = asyncio.Event()
    odd = loop.call_later(3600, lambda thing: None, _ComparesOddly())
    plain: asyncio.Future[None] = loop.create_future()
    feeding = loop.call_later(3600, plain.set_result, None)
    released = threading.Event()

    async def authTokenProvider(callback: Callable[[str], None]) -> None:
        if waits_on == "sleep, beside an odd timer":
            await asyncio.sleep(3600)
        elif waits_on == "thread":
            await asyncio.to_thread(released.wait, 5)
        elif waits_on == "gather(sleep)":
            await asyncio.gather(asyncio.sleep(3600))
        elif waits_on == "gather(plain future fed by a timer)":
            await asyncio.gather(plain)
        elif waits_on == "wait_for(sleep)":
            await asyncio.wait_for(asyncio.sleep(3600), 7200)
        elif waits_on == "wait_for(thread)":
            await asyncio.wait_for(asyncio.to_thread(released.wait, 5), 7200)
        elif waits_on == "wait_for(run_in_executor)":
            await asyncio.wait_for(loop.run_in_executor(None, released.wait, 5), 7200)
        elif waits_on == "wait_for(gather(sleep))":
            await asyncio.wait_for(asyncio.gather(asyncio.sleep(3600)), 7200)
        elif waits_on == "wait_for(event)":
            await asyncio.wait_for(never.wait(), 3600)
        else:
            await never.wait()

    widget.sdk.setAuthTokenProvider(authTokenProvider)
    try:
        error = await start_expecting(widget, ErrorCode.NO_AUTH_TOKEN, "within 10 s")
    finally:
        odd.cancel()
        feeding.cancel()
        released.set()
    assert ("clock.hold()" in error.reason) is hinted, error.reason


async def test_the_real_work_hint_is_best_effort_and_never_raises(
    org: Omnichannel, contoso: WorkStream, clock: VirtualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # It reads asyncio's internals, which another loop may not have: no hint, not a crash.
    def unreadable(waiting: object) -> bool:
        raise AttributeError("this loop keeps no _fut_waiter")

    monkeypatch.setattr("lcw_emulator.clock._waits_on_network", unreadable)
    widget = await loaded(org, contoso)

    async def authTokenProvider(callback: Callable[[str], None]) -> None:
        await asyncio.sleep(3600)

    widget.sdk.setAuthTokenProvider(authTokenProvider)
    error = await start_expecting(widget, ErrorCode.NO_AUTH_TOKEN, "within 10 s")
    assert error.reason == "the provider did not call back within 10 s"


async def test_code_3_over_virtual_waits_only_has_no_real_work_hint(
    org: Omnichannel, contoso: WorkStream, clock: VirtualClock
) -> None:
    widget = await loaded(org, contoso)

    async def authTokenProvider(callback: Callable[[str], None]) -> None:
        await clock.sleep(60)

    widget.sdk.setAuthTokenProvider(authTokenProvider)
    async with asyncio.timeout(60):  # a real deadline around it is no real work
        error = await start_expecting(widget, ErrorCode.NO_AUTH_TOKEN, "within 10 s")
    assert error.reason == "the provider did not call back within 10 s"


async def test_code_3_provider_answers_after_the_timeout(
    org: Omnichannel, contoso: WorkStream, clock: VirtualClock, sample_token: Any
) -> None:
    widget = await loaded(org, contoso)
    widget.sdk.setAuthTokenProvider(delayed(sample_token(), 10.5, clock=clock))
    await start_expecting(widget, ErrorCode.NO_AUTH_TOKEN, "within 10 s")
    await clock.sleep(1)  # let the late callback arrive
    [late] = widget.timeline.find("callback ignored")
    assert "after the timeout" in late.detail["why"]


@pytest.mark.parametrize("auto_jump", [True, False])
async def test_code_3_when_the_test_moves_time_past_the_timeout_and_the_answer_in_one_step(
    contoso: WorkStream, sample_token: Any, auto_jump: bool
) -> None:
    # A test's advance(20) fires the deadline (+10) and the answer (+15) in one call; the
    # answer must still be late, and the chat not start.
    clock = VirtualClock(start=1542622100, auto_jump=auto_jump)
    widget = await loaded(Omnichannel(clock=clock), contoso)
    widget.sdk.setAuthTokenProvider(delayed(sample_token(), 15, clock=clock))
    start = widget.sdk.startChat()
    for _ in range(3):
        await asyncio.sleep(0)  # the provider called, its answer due at +15
    clock.advance(20)
    with pytest.raises(LcwError) as caught:
        await start
    assert caught.value.code is ErrorCode.NO_AUTH_TOKEN, caught.value
    await clock.settle()
    [late] = widget.timeline.find("callback ignored")
    assert "after the timeout" in late.detail["why"]
    assert widget.session is None


@pytest.mark.parametrize("auto_jump", [True, False])
async def test_two_chats_with_one_limit_each_get_their_own_verdict_under_advance(
    contoso: WorkStream, sample_token: Any, auto_jump: bool
) -> None:
    clock = VirtualClock(start=1542622100, auto_jump=auto_jump)
    org = Omnichannel(clock=clock)
    starts = []
    for delay in (10, 15):  # at the limit: in time; after it: code 3
        widget = await loaded(org, contoso)
        widget.sdk.setAuthTokenProvider(delayed(sample_token(), delay, clock=clock))
        starts.append(widget.sdk.startChat())
    for _ in range(3):
        await asyncio.sleep(0)
    clock.advance(20)
    await clock.settle()
    assert (await starts[0]).state.value == "queued"
    with pytest.raises(LcwError) as caught:
        await starts[1]
    assert caught.value.code is ErrorCode.NO_AUTH_TOKEN


async def test_code_1_when_the_test_moves_time_past_an_async_context_providers_limit(
    sample_token: Any,
) -> None:
    clock = VirtualClock(start=1542622100, auto_jump=False)
    widget = await loaded(Omnichannel(clock=clock), UNAUTHENTICATED)

    async def slow_context() -> dict[str, Any]:
        await clock.sleep(500)
        return {"msdyn_cartvalue": 10}

    widget.sdk.setContextProvider(slow_context)
    start = widget.sdk.startChat()
    for _ in range(3):
        await asyncio.sleep(0)
    clock.advance(600)
    with pytest.raises(LcwError) as caught:
        await start
    assert caught.value.code is ErrorCode.CONTEXT_PROVIDER_FAILED, caught.value
    assert widget.session is None


async def test_callback_at_exactly_the_timeout_is_in_time(
    org: Omnichannel, contoso: WorkStream, clock: VirtualClock, sample_token: Any
) -> None:
    widget = await loaded(org, contoso)
    widget.sdk.setAuthTokenProvider(delayed(sample_token(), 10, clock=clock))
    session = await widget.sdk.startChat()
    assert session.context == {"msdyn_cartvalue": 10000, "msdyn_isvip": "false"}


@pytest.mark.parametrize(
    ("answer", "code", "fragment"),
    [
        # What JavaScript reads as false: the SDK's UndefinedAuthToken.
        (None, ErrorCode.NO_AUTH_TOKEN, "called back with null: no token"),
        ("", ErrorCode.NO_AUTH_TOKEN, "'': no token"),
        (0, ErrorCode.NO_AUTH_TOKEN, "called back with int 0: no token"),
        (False, ErrorCode.NO_AUTH_TOKEN, "called back with bool False: no token"),
        (math.nan, ErrorCode.NO_AUTH_TOKEN, "no token"),
        # Truthy in JavaScript, so handed over: the widget cannot decode it as a token.
        (42, ErrorCode.INVALID_AUTH_TOKEN, "int 42; a token is a JWT string"),
        ([], ErrorCode.INVALID_AUTH_TOKEN, "list []; a token is a JWT string"),
        ("   ", ErrorCode.INVALID_AUTH_TOKEN, "three dot-separated parts"),
    ],
)
async def test_code_3_for_nothing_called_back_and_code_4_for_what_is_no_jwt(
    answer: object, code: ErrorCode, fragment: str, org: Omnichannel, contoso: WorkStream
) -> None:
    widget = await loaded(org, contoso)
    widget.sdk.setAuthTokenProvider(answering_with(answer))
    await start_expecting(widget, code, fragment)
    assert bool(widget.timeline.find("token refused")) == (code is ErrorCode.INVALID_AUTH_TOKEN)


async def test_code_3_provider_returns_the_token_instead_of_calling_back(
    org: Omnichannel, contoso: WorkStream, sample_token: Any
) -> None:
    widget = await loaded(org, contoso)
    widget.sdk.setAuthTokenProvider(returning_token(sample_token()))
    await start_expecting(
        widget, ErrorCode.NO_AUTH_TOKEN, "only takes the token passed to callback"
    )


async def test_code_4_invalid_token_names_the_claim(
    org: Omnichannel, contoso: WorkStream, sample_token: Any
) -> None:
    widget = await loaded(org, contoso)
    widget.sdk.setAuthTokenProvider(static_token(sample_token(iss="fabrikam.com")))
    await start_expecting(
        widget,
        ErrorCode.INVALID_AUTH_TOKEN,
        "issuer 'fabrikam.com' is not the configured issuer 'contosohelp.com'",
    )
    [refusal] = widget.timeline.find("token refused")
    assert refusal.kind is EntryKind.SERVICE
    assert refusal.detail["claim"] == "iss"


async def test_code_4_garbage_token(org: Omnichannel, contoso: WorkStream) -> None:
    widget = await loaded(org, contoso)
    widget.sdk.setAuthTokenProvider(answering_with("not-a-jwt"))
    await start_expecting(widget, ErrorCode.INVALID_AUTH_TOKEN, "three dot-separated parts")


async def test_code_4_lwicontexts_object_instead_of_string(
    org: Omnichannel, contoso: WorkStream, sample_token: Any
) -> None:
    widget = await loaded(org, contoso)
    token = sample_token(lwicontexts={"msdyn_cartvalue": "10000"})
    widget.sdk.setAuthTokenProvider(static_token(token))
    error = await start_expecting(
        widget, ErrorCode.INVALID_AUTH_TOKEN, "lwicontexts must be a JSON-serialised string"
    )
    assert error.claim == "lwicontexts"


async def test_code_7_load_failure(org: Omnichannel, contoso: WorkStream) -> None:
    widget = org.widget(contoso, load_failure="storage is disabled in this browser")
    heard: list[Any] = []
    widget.on("lcw:error", lambda event: heard.append(event.detail))
    queued = widget.sdk.startChat()  # made before the load: it fails with the load
    widget.sdk.setAuthTokenProvider(static_token("never used"))  # and this one is dropped
    with pytest.raises(LcwError) as caught:
        await widget.load()
    dropped = widget.timeline.find("queued call dropped: the widget failed to load")
    assert [entry.detail["method"] for entry in dropped] == ["startChat", "setAuthTokenProvider"]
    assert caught.value.code is ErrorCode.WIDGET_LOAD_FAILED
    assert heard == [
        {
            "errorCode": 7,
            "errorDescription": "Live chat widget scripts failed to load",
            "reason": "storage is disabled in this browser",
            "errorDetail": "storage is disabled in this browser",  # "see errorDetail"
        }
    ]
    with pytest.raises(LcwError) as queued_error:
        await queued
    assert queued_error.value.code is ErrorCode.WIDGET_LOAD_FAILED
    with pytest.raises(LcwError, match="the widget failed to load"):
        widget.sdk.startChat()
    with pytest.raises(LcwError, match=r"getAuthTokenProvider\(\) cannot run"):
        widget.sdk.getAuthTokenProvider()  # no SDK object to ask either
    assert "lcw:ready" not in widget.timeline.event_names()


async def test_code_8_no_provider_on_an_authenticated_work_stream(
    org: Omnichannel, contoso: WorkStream
) -> None:
    widget = await loaded(org, contoso)
    error = await start_expecting(
        widget,
        ErrorCode.AUTH_PROVIDER_NOT_FOUND,
        "requires authentication and no auth token provider is set",
    )
    # When the start reads it, and so what a page that set it a little later must change.
    assert error.reason.endswith(
        "(the start reads it one loop turn after startChat is called: set it in an lcw:ready "
        "listener, or before startChat)"
    ), error.reason


async def test_code_8_mentions_a_ready_listener_that_raised(
    org: Omnichannel, contoso: WorkStream
) -> None:
    widget = org.widget(contoso)

    def on_ready() -> None:
        raise NameError("convertToJwtToken is not defined")

    widget.on("lcw:ready", on_ready)
    await widget.load()
    assert [type(e) for e in widget.handler_errors] == [NameError]
    await start_expecting(
        widget,
        ErrorCode.AUTH_PROVIDER_NOT_FOUND,
        "1 event listener(s) raised, first NameError: convertToJwtToken is not defined",
    )


async def test_second_callback_is_ignored_and_noted(
    org: Omnichannel, contoso: WorkStream, sample_token: Any
) -> None:
    widget = await loaded(org, contoso)
    widget.sdk.setAuthTokenProvider(answering_twice(sample_token(), "second"))
    session = await widget.sdk.startChat()
    assert session.context["msdyn_cartvalue"] == 10000
    [ignored] = widget.timeline.find("callback ignored")
    assert "a second time" in ignored.detail["why"]
    assert ignored.detail["token"] == "'second'"


async def test_provider_calling_back_later_from_another_task(
    org: Omnichannel, contoso: WorkStream, clock: VirtualClock, sample_token: Any
) -> None:
    widget = await loaded(org, contoso)
    token = sample_token()

    def authTokenProvider(callback: Callable[[str], None]) -> None:
        async def fetch() -> None:
            await clock.sleep(2)
            callback(token)

        asyncio.get_running_loop().create_task(fetch())

    widget.sdk.setAuthTokenProvider(authTokenProvider)
    started = clock.now()
    session = await widget.sdk.startChat()
    assert clock.now() - started == 2
    assert session.authenticated


async def test_the_widget_works_again_after_each_failure(
    org: Omnichannel, contoso: WorkStream, sample_token: Any
) -> None:
    widget = await loaded(org, contoso)
    for provider in (raising(), never_answering(), answering_with(None), static_token("x.y.z")):
        widget.sdk.setAuthTokenProvider(provider)
        with pytest.raises(LcwError):
            await widget.sdk.startChat()
    widget.sdk.setAuthTokenProvider(static_token(sample_token()))
    session = await widget.sdk.startChat()
    assert session.state.value == "queued"
    assert [e["errorCode"] for e in errors_of(widget)] == [2, 3, 3, 4]


async def test_a_provider_that_raises_after_calling_back_still_counts_sync_or_async(
    org: Omnichannel, contoso: WorkStream, sample_token: Any
) -> None:
    token = sample_token()

    def sync_provider(callback: Callable[[str], None]) -> None:
        callback(token)
        raise RuntimeError("cleanup failed")

    async def async_provider(callback: Callable[[str], None]) -> None:
        callback(token)
        raise RuntimeError("cleanup failed")

    for provider in (sync_provider, async_provider):
        widget = await loaded(org, contoso)
        widget.sdk.setAuthTokenProvider(provider)
        session = await widget.sdk.startChat()
        await asyncio.sleep(0)
        assert session.authenticated
        [note] = widget.timeline.find("provider raised after calling back")
        assert note.detail == {"error": "RuntimeError: cleanup failed"}


async def test_a_cancelled_start_is_noted_and_what_the_provider_does_later_says_so(
    org: Omnichannel, contoso: WorkStream, sample_token: Any
) -> None:
    for late in ("calls back", "raises"):
        widget = await loaded(org, contoso)

        async def slow(
            callback: Callable[[str], None], late: str = late, clock: Any = widget.clock
        ) -> None:
            await clock.sleep(5)
            if late == "raises":
                raise ConnectionResetError("token service went away")
            callback(sample_token())

        widget.sdk.setAuthTokenProvider(slow)
        start = widget.sdk.startChat()
        await widget.clock.sleep(2)
        start.cancel()  # the page gives up after 2 s
        await widget.clock.sleep(10)
        assert widget.timeline.find("chat start cancelled while the provider worked")
        notes = [entry.name for entry in widget.timeline.of_kind(EntryKind.NOTE)]
        assert "provider raised after calling back" not in notes
        if late == "raises":
            assert "provider raised after the start was cancelled" in notes
        else:
            [ignored] = widget.timeline.find("callback ignored")
            assert "after the chat start was cancelled" in ignored.detail["why"]
        assert widget.session is None


async def test_a_provider_that_raises_after_the_timeout_is_noted_as_such(
    org: Omnichannel, contoso: WorkStream
) -> None:
    widget = await loaded(org, contoso)

    async def gives_up(callback: Callable[[str], None]) -> None:
        await widget.clock.sleep(15)
        raise RuntimeError("token service gave up")

    widget.sdk.setAuthTokenProvider(gives_up)
    with pytest.raises(LcwError) as caught:
        await widget.sdk.startChat()
    assert caught.value.code == 3
    await widget.clock.sleep(10)
    [note] = widget.timeline.find("provider raised after the timeout")
    assert note.detail == {"error": "RuntimeError: token service gave up"}
    assert not widget.timeline.find("provider raised after calling back")


@pytest.mark.parametrize(
    "error",
    [
        LcwError(ErrorCode.INVALID_AUTH_TOKEN, "the token expired", claim="exp"),
        LcwError(ErrorCode.WIDGET_LOAD_FAILED, "the CDN is down"),
        SdkUsageError("setAuthTokenProvider: authTokenProvider must be a function"),
        WidgetNotReadyError("startChat"),
        ConfigurationError("no [auth] table", source="ws.toml"),
        RateLimitedError("getAgentAvailability is limited"),
        ChatStateError("chat chat-0001 is already closed"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_errors_survive_pickling_and_copying_whole(error: LcwError) -> None:
    # What a worker process (multiprocessing, pytest-xdist, a process pool) sends back.
    for copied in (pickle.loads(pickle.dumps(error)), copy.copy(error), copy.deepcopy(error)):
        assert type(copied) is type(error)
        assert (copied.code, copied.message, copied.reason, copied.claim) == (
            error.code,
            error.message,
            error.reason,
            error.claim,
        )
        assert (str(copied), repr(copied), copied.args) == (str(error), repr(error), error.args)
        assert copied.detail == error.detail


def test_the_repr_of_a_refusal_names_its_claim() -> None:
    error = LcwError(ErrorCode.INVALID_AUTH_TOKEN, "the token expired", claim="exp")
    assert repr(error) == (
        "LcwError(code=<ErrorCode.INVALID_AUTH_TOKEN: 4>, reason='the token expired', claim='exp')"
    )


def test_a_failure_is_told_by_its_first_real_error_and_its_message_if_it_has_one() -> None:
    from lcw_emulator.errors import describe_failure

    assert describe_failure(ValueError("bad")) == "ValueError: bad"
    assert describe_failure(ConnectionResetError()) == "ConnectionResetError"
    group = ExceptionGroup("unhandled errors in a TaskGroup", [OverflowError("port 99999")])
    assert describe_failure(group) == "OverflowError: port 99999"
    nested = BaseExceptionGroup("outer", [ExceptionGroup("inner", [KeyError("k")])])
    assert describe_failure(nested) == "KeyError: 'k'"


async def test_a_start_the_page_cancels_at_exactly_the_timeout_is_cancelled_not_code_3(
    org: Omnichannel, contoso: WorkStream
) -> None:
    widget = await loaded(org, contoso)
    widget.sdk.setAuthTokenProvider(never_answering())
    start = widget.sdk.startChat()
    await asyncio.sleep(0)
    limit = widget.clock.now() + 10
    # On the turn the 10 s deadline fires, after it: the page's cancel must still win.
    widget.clock.call_at(limit, lambda: widget.clock.call_at(limit, start.cancel))
    with pytest.raises(asyncio.CancelledError):
        await start
    assert widget.timeline.find("lcw:error") == []
    assert widget.timeline.find("chat start cancelled while the provider worked")
