"""LcwEmulator as a sync and async context manager, and its unittest.mock-style assertions."""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import re
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import jwt
import pytest

from lcw_emulator import (
    EntryKind,
    ErrorCode,
    KeyPair,
    LcwError,
    Omnichannel,
    RealClock,
    SdkUsageError,
    VirtualClock,
    WidgetNotReadyError,
    WorkStream,
)
from lcw_emulator.emulator import LcwEmulator, TimelineAssertions
from lcw_emulator.key_source import StaticKeySource
from lcw_emulator.token_providers import (
    answering_twice,
    delayed,
    minted_token,
    never_answering,
    raising,
    static_token,
)

CONTOSO = Path(__file__).resolve().parent.parent / "scenarios" / "contoso.toml"
SAMPLE_START = 1542622100  # inside the documentation's sample token window


def test_sync_form_loads_the_widget_and_runs_a_chat_start(sample_token: Callable[..., str]) -> None:
    with LcwEmulator(CONTOSO, start=SAMPLE_START) as lcw:
        assert lcw.widget.is_ready
        lcw.sdk.setAuthTokenProvider(static_token(sample_token()))
        session = lcw.run(lcw.sdk.startChat)
        assert session is lcw.session
        assert session.context == {"msdyn_cartvalue": 10000, "msdyn_isvip": "false"}
        lcw.assert_emitted("lcw:chatQueued")
        lcw.assert_no_error()


async def test_async_form_loads_on_the_running_loop(sample_token: Callable[..., str]) -> None:
    async with LcwEmulator(WorkStream.from_toml(CONTOSO), start=SAMPLE_START) as lcw:
        assert lcw.widget.is_ready
        lcw.sdk.setAuthTokenProvider(static_token(sample_token()))
        session = await lcw.sdk.startChat()
        assert session.queue.name == "General"
        with pytest.raises(RuntimeError, match="await the SDK directly"):
            lcw.run(lcw.sdk.startChat)


TENANT: contextvars.ContextVar[str] = contextvars.ContextVar("tenant", default="unset")


def test_run_sees_the_context_variables_of_its_caller(sample_token: Callable[..., str]) -> None:
    # As asyncio.run: a provider reading a contextvar (a tenant, a trace id) sees the value
    # the test set before this call, not the one when the widget loaded, nor a later run's.
    seen: list[str] = []

    def provider(callback: Callable[[str], None]) -> None:
        seen.append(TENANT.get())
        TENANT.set("set by the provider")
        callback(sample_token())

    with LcwEmulator(CONTOSO, start=SAMPLE_START) as lcw:
        lcw.sdk.setAuthTokenProvider(provider)
        TENANT.set("contoso")
        lcw.run(lcw.sdk.startChat)
        lcw.run(lcw.sdk.closeChat)
        TENANT.set("fabrikam")
        lcw.run(lcw.sdk.startChat)
    assert seen == ["contoso", "fabrikam"]
    assert TENANT.get() == "fabrikam"


def test_a_provider_that_never_answers_costs_no_wall_time() -> None:
    with LcwEmulator(CONTOSO, start=SAMPLE_START) as lcw:
        lcw.sdk.setAuthTokenProvider(never_answering())
        with pytest.raises(LcwError) as failed:
            lcw.run(lcw.sdk.startChat)
        assert failed.value.code is ErrorCode.NO_AUTH_TOKEN
        assert lcw.clock.now() == SAMPLE_START + 10
        lcw.assert_error(code=3, match=r"within 10 s")


def test_load_false_lets_the_test_listen_for_ready_first(sample_token: Callable[..., str]) -> None:
    with LcwEmulator(CONTOSO, start=SAMPLE_START, load=False) as lcw:
        assert not lcw.widget.is_ready

        @lcw.widget.on("lcw:ready")
        def ready() -> None:
            lcw.sdk.setAuthTokenProvider(static_token(sample_token()))

        lcw.run(lcw.widget.load)
        lcw.run(lcw.sdk.startChat)
        lcw.assert_sequence(["lcw:ready", "setAuthTokenProvider", "startChat", "lcw:chatQueued"])


def test_the_work_stream_is_read_as_org_widget_reads_it() -> None:
    with pytest.raises(TypeError, match="a work stream must be a WorkStream, got dict"):
        LcwEmulator({"name": "x"})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="an empty path names no work stream file"):
        LcwEmulator("")


def test_load_is_a_method_in_the_sync_form_and_run_takes_it_too(
    sample_token: Callable[..., str],
) -> None:
    loads: list[Callable[[LcwEmulator], object]] = [
        lambda lcw: lcw.load(),
        lambda lcw: lcw.run(lcw.load),
    ]
    for load in loads:
        with LcwEmulator(CONTOSO, start=SAMPLE_START, load=False) as lcw:
            lcw.widget.on(
                "lcw:ready", lambda: lcw.sdk.setAuthTokenProvider(static_token(sample_token()))
            )
            load(lcw)
            assert lcw.widget.is_ready
            assert lcw.run(lcw.sdk.startChat).customer_id is not None


async def test_load_in_the_async_form_says_to_await_the_widget_s() -> None:
    async with LcwEmulator(CONTOSO, start=SAMPLE_START, load=False) as lcw:
        with pytest.raises(RuntimeError, match=r"LcwEmulator.load\(\) drives the emulator's own"):
            lcw.load()


def test_a_run_that_only_waits_for_a_ready_never_fired_says_so_instead_of_hanging(
    sample_token: Callable[..., str],
) -> None:
    with LcwEmulator(CONTOSO, start=SAMPLE_START, load=False) as lcw:
        lcw.sdk.setAuthTokenProvider(static_token(sample_token()))
        with pytest.raises(SdkUsageError, match=r"startChat\(\) was queued until lcw:ready"):
            lcw.run(lcw.sdk.startChat)
        lcw.run(lcw.widget.load)
        assert lcw.session is None  # the start the test gave up on is not replayed
        lcw.run(lcw.sdk.startChat)
        assert lcw.session is not None


def test_a_run_whose_work_arranges_the_load_waits_for_it(sample_token: Callable[..., str]) -> None:
    # Only an SDK method called alone, with nothing else left to run, is refused.
    with LcwEmulator(CONTOSO, start=SAMPLE_START, load=False) as lcw:
        lcw.sdk.setAuthTokenProvider(static_token(sample_token()))

        def page() -> Any:
            lcw.clock.call_later(2, lambda: asyncio.ensure_future(lcw.widget.load()))
            return lcw.sdk.startChat()

        session = lcw.run(page)
        assert session is lcw.session and lcw.clock.now() == SAMPLE_START + 2
    with LcwEmulator(CONTOSO, start=SAMPLE_START, load=False) as lcw:
        lcw.sdk.setAuthTokenProvider(static_token(sample_token()))
        lcw.run(lambda: lcw.clock.call_later(1, lambda: asyncio.ensure_future(lcw.widget.load())))
        assert lcw.run(lcw.sdk.startChat) is lcw.session  # an earlier run left a timer to fire


def test_arguments_of_the_wrong_type_are_named() -> None:
    with LcwEmulator(CONTOSO, start=SAMPLE_START) as lcw:
        with pytest.raises(TypeError, match=r"assert_sequence\(\['lcw:ready'\]\)"):
            lcw.assert_sequence("lcw:ready")  # type: ignore[arg-type]
        with pytest.raises(
            TypeError, match=r"code must be an lcw:error code \(an int\), got 'four'"
        ):
            lcw.assert_error(code="four")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="seconds must be a number of seconds, got str '5'"):
            lcw.advance("5")  # type: ignore[arg-type]
        with pytest.raises(
            TypeError, match=r"run\(\) takes an awaitable or a function to call, got int"
        ):
            lcw.run(123)  # type: ignore[call-overload]
        keys = KeyPair.generate()
        with pytest.raises(TypeError, match="pass it as the lwicontexts claim"):
            minted_token(keys, {}, clock=lcw.clock, context='{"a": 1}')  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="lifetime must be a number of seconds, got str"):
            minted_token(keys, {}, clock=lcw.clock, lifetime="3600")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="got bool True"):
            lcw.advance(True)
    # Whatever float() or operator.index() takes, other than text and True, still works.
    assert VirtualClock(start=Decimal("1542622100")).now() == 1542622100
    assert VirtualClock(start=Fraction(3, 2)).now() == 1.5
    with LcwEmulator(CONTOSO, start=SAMPLE_START) as lcw:
        with pytest.raises(LcwError):
            lcw.run(lcw.sdk.startChat)  # no provider: code 8
        assert lcw.assert_error(code=ErrorCode.AUTH_PROVIDER_NOT_FOUND).detail["errorCode"] == 8
        minted_token(KeyPair.generate(), {}, clock=lcw.clock, context=[("msdyn_isvip", "true")])


async def test_the_async_form_raises_a_listener_assertion_too() -> None:
    def check() -> None:
        raise AssertionError("queued in the wrong queue")

    with pytest.raises(AssertionError, match="event listener failed: queued in the wrong queue"):
        async with LcwEmulator(None) as lcw:
            lcw.widget.on("lcw:chatQueued", check)
            await lcw.sdk.startChat()


def test_strict_mode_raises_before_ready() -> None:
    with LcwEmulator(CONTOSO, strict=True, load=False) as lcw, pytest.raises(WidgetNotReadyError):
        lcw.sdk.setAuthTokenProvider(never_answering())


def test_without_a_work_stream_the_chat_is_unauthenticated() -> None:
    with LcwEmulator() as lcw:
        lcw.run(lcw.sdk.startChat, {"customContext": {"plan": {"value": "gold"}}})
        lcw.assert_context({"plan": "gold"}, exact=True)


def test_the_default_start_is_a_little_ahead_of_the_real_time() -> None:
    before = time.time()
    emulator = LcwEmulator()
    # A whole second, as the iat and exp of the tokens it will judge.
    assert int(before) + 10 <= emulator.clock.now() <= time.time() + 10
    assert emulator.clock.now() == int(emulator.clock.now())
    assert LcwEmulator(start=5).clock.now() == 5


def test_a_token_stamped_by_the_real_clock_later_in_the_test_is_fresh(
    contoso: WorkStream, demo_keys: KeyPair
) -> None:
    with LcwEmulator(contoso) as lcw:
        later = time.time() + 2  # the real clock, two seconds into a slow test
        issued = {"sub": "c", "iss": "contosohelp.com", "iat": int(later), "exp": int(later) + 60}
        lcw.sdk.setAuthTokenProvider(static_token(demo_keys.mint(issued)))
        assert lcw.run(lcw.sdk.startChat).authenticated


def test_an_org_brings_its_clock() -> None:
    clock = VirtualClock(start=5)
    org = Omnichannel(clock=clock)
    assert LcwEmulator(org=org).clock is clock
    assert LcwEmulator(org=org, key_source=org.key_source).org is org  # the same: no conflict
    with pytest.raises(ValueError, match="give clock or org"):
        LcwEmulator(org=org, clock=VirtualClock())


FACTORY_MISTAKES: list[tuple[Callable[[VirtualClock], object], str]] = [
    (lambda c: static_token(None), "token must be the token's text"),  # type: ignore[arg-type]
    (lambda c: minted_token(None, {}, clock=c), "signer must be a KeyPair (RS256) or a shared"),
    (lambda c: minted_token("", {}, clock=c), "signer must be a KeyPair (RS256) or a shared"),
    (lambda c: minted_token("s" * 32, None, clock=c), "claims must be a mapping of claim"),
    (lambda c: minted_token("s" * 32, {}, clock=None), "clock must be a Clock"),
    (lambda c: minted_token("s" * 32, {}, clock=c, context=5), "context must be key/values"),
    (lambda c: minted_token("s" * 32, {}, clock=c, algorithm="RS256"), "pass a KeyPair"),
    (
        lambda c: minted_token(KeyPair.generate(), {}, clock=c, algorithm="HS256"),
        "a KeyPair signs RS256, not 'HS256'",
    ),
    (lambda c: delayed(None, 1, clock=c), "answer must be a token or an auth token provider"),
    (lambda c: delayed("t", "1", clock=c), "seconds must be a number of seconds, got str '1'"),
    (lambda c: delayed("t", 1, clock=None), "clock must be a Clock"),
    (lambda c: raising(5), "error must be an exception or its message, got int 5"),
]


@pytest.mark.parametrize(("make", "why"), FACTORY_MISTAKES)
def test_a_provider_made_wrongly_is_refused_when_made_not_as_code_2_at_chat_start(
    make: Callable[[VirtualClock], object], why: str
) -> None:
    with pytest.raises((TypeError, ValueError)) as caught:
        make(VirtualClock(start=SAMPLE_START))
    assert why in str(caught.value)


def test_a_secret_signer_of_the_wrong_type_is_named_without_its_value() -> None:
    with pytest.raises(TypeError) as caught:
        minted_token(bytearray(b"secret-bytes"), {}, clock=VirtualClock(start=0))  # type: ignore[arg-type]
    assert "secret-bytes" not in str(caught.value) and "got bytearray" in str(caught.value)
    raising(ValueError)  # an exception class raises as well as an instance
    minted_token("s" * 32, {}, clock=VirtualClock(start=0), algorithm="HS512")


def test_what_a_provider_factory_takes_it_keeps_usable_for_every_token() -> None:
    clock = VirtualClock(start=SAMPLE_START)
    tokens: list[str] = []
    secret = b"s" * 32  # PyJWT signs with bytes as with text
    provider = minted_token(
        secret,
        {"sub": "c"},
        clock=clock,
        context=iter([("msdyn_isvip", "true")]),  # pairs, read once: not empty by the 1st token
        lifetime=Decimal(60),  # a number float() takes, converted once
    )
    provider(tokens.append)
    provider(tokens.append)
    for token in tokens:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"verify_exp": False})
        assert claims["lwicontexts"] == '{"msdyn_isvip": "true"}'
        assert claims["exp"] - claims["iat"] == 60


@pytest.mark.parametrize(
    ("arguments", "why"),
    [
        # Each would have been dropped in silence, or met later as an AttributeError.
        ({"start": 5, "clock": VirtualClock(start=100)}, "give start or clock, not both"),
        ({"start": 5, "org": Omnichannel(VirtualClock(start=100))}, "give start or org, not"),
        (
            {"org": Omnichannel(VirtualClock(start=100)), "key_source": StaticKeySource(())},
            "give key_source or org, not both: the org brings its key source",
        ),
        ({"clock": RealClock()}, "clock must be a VirtualClock, got RealClock"),
        ({"org": 5}, "org must be an Omnichannel, got int 5"),
        ({"start": "100"}, "start must be a number of seconds, got str '100'"),
        ({"start": True}, "start must be a number of seconds, got bool True"),
    ],
)
def test_arguments_that_cannot_all_be_honoured_are_refused(
    arguments: dict[str, Any], why: str
) -> None:
    with pytest.raises((TypeError, ValueError)) as caught:
        LcwEmulator(**arguments)
    assert why in str(caught.value)


def test_advance_moves_the_clock_and_runs_what_woke() -> None:
    with LcwEmulator(start=100) as lcw:
        woke: list[float] = []

        async def sleeper() -> None:
            await lcw.clock.sleep(30)
            woke.append(lcw.clock.now())

        tasks: list[asyncio.Task[None]] = []
        lcw.clock.auto_jump = False
        lcw.run(lambda: tasks.append(asyncio.ensure_future(sleeper())))
        lcw.advance(29)
        assert woke == []
        lcw.advance(1)
        assert woke == [130]
        assert tasks[0].done()


# -- assertions ---------------------------------------------------------------


@pytest.fixture
def started(sample_token: Callable[..., str]) -> Iterator[LcwEmulator]:
    """A Contoso chat started with a context holding one value that cannot be typed."""
    with LcwEmulator(CONTOSO, start=SAMPLE_START) as lcw:
        token = sample_token({"msdyn_cartvalue": "abc", "msdyn_isvip": "true"})
        lcw.sdk.setAuthTokenProvider(answering_twice(token, "second"))
        lcw.run(lcw.sdk.startChat)
        yield lcw


def failure(check: Callable[[], object]) -> str:
    with pytest.raises(AssertionError) as failed:
        check()
    message = str(failed.value)
    assert "Recorded timeline:" in message
    return message


def test_assert_emitted_matches_a_detail_subset(started: LcwEmulator) -> None:
    entry = started.assert_emitted("lcw:chatQueued")
    assert entry.kind is EntryKind.EVENT
    message = failure(lambda: started.assert_emitted("lcw:error"))
    assert "Expected lcw:error to have been emitted. lcw:error was never recorded." in message
    assert "lcw:chatQueued" in message  # the timeline is shown


def test_assert_emitted_shows_what_the_event_carried(started: LcwEmulator) -> None:
    started.run(started.sdk.getAgentAvailability)
    started.assert_emitted("lcw:getAgentAvailability", isAgentAvailable=True)
    message = failure(
        lambda: started.assert_emitted("lcw:getAgentAvailability", queueId="vip", positionInQueue=1)
    )
    assert "with detail containing {'queueId': 'vip', 'positionInQueue': 1}" in message
    assert "lcw:getAgentAvailability was recorded 1 time(s), with:" in message
    assert "'queueId': 'general'" in message


def test_unknown_event_names_are_a_usage_error(started: LcwEmulator) -> None:
    with pytest.raises(ValueError, match=re.escape("did you mean 'lcw:chatQueued'?")):
        started.assert_not_emitted("chatqueued")
    with pytest.raises(ValueError, match="not an lcw:\\* event"):
        started.assert_emitted("lcw:somethingElse")


def test_assert_not_emitted_and_once(started: LcwEmulator) -> None:
    started.assert_not_emitted("lcw:error")
    started.assert_emitted_once("lcw:startChat")
    message = failure(lambda: started.assert_not_emitted("lcw:chatQueued"))
    assert "Expected lcw:chatQueued not to have been emitted; it was, 1 time(s)" in message
    started.run(started.sdk.startChat)  # a chat in progress: maximised, not started again
    started.assert_emitted_once("lcw:chatQueued")
    message = failure(lambda: started.assert_emitted_once("lcw:startChat"))
    assert "emitted 2 times" in message
    message = failure(lambda: started.assert_emitted_once("lcw:error", errorCode=4))
    assert "emitted 0 times" in message


def test_a_detail_key_the_event_never_carries_is_refused(started: LcwEmulator) -> None:
    # Otherwise assert_not_emitted("lcw:error", code=4) would pass whatever fired.
    with pytest.raises(
        ValueError, match="lcw:error has no detail 'code' \\(did you mean 'errorCode'"
    ):
        started.assert_not_emitted("lcw:error", code=4)
    with pytest.raises(ValueError, match="lcw:chatQueued has no detail 'session'; it carries no"):
        started.assert_not_emitted("lcw:chatQueued", session="chat-0001")
    started.assert_not_emitted("lcw:error", errorCode=4)


def test_assert_recorded_takes_a_kind_as_the_timeline_prints_it(started: LcwEmulator) -> None:
    assert started.assert_recorded("startChat", kind="sdk").kind is EntryKind.SDK_CALL
    with pytest.raises(ValueError, match="'startChat' is always recorded as kind 'sdk', never"):
        started.recorded("startChat", kind="note")  # so assert not ... could never fail
    with pytest.raises(ValueError, match="kind 'sdkk' is not an entry kind"):
        started.assert_recorded("startChat", kind="sdkk")


def test_advance_delivers_a_timeout_on_a_clock_moved_by_hand() -> None:
    with LcwEmulator(CONTOSO, start=SAMPLE_START) as lcw:
        lcw.sdk.setAuthTokenProvider(never_answering())
        lcw.clock.auto_jump = False
        started: list[asyncio.Future[Any]] = []
        lcw.run(lambda: started.append(lcw.sdk.startChat()))
        lcw.advance(10)  # "lets woken tasks run": the timeout judged at 10 s among them
        assert started[0].done()
        lcw.assert_error(3, match="did not call back within 10 s")


def test_the_sync_form_says_what_to_do_inside_an_async_test() -> None:
    with LcwEmulator(CONTOSO, start=SAMPLE_START) as lcw:

        async def inside_a_running_loop() -> None:
            with pytest.raises(RuntimeError, match="in an async test, await instead"):
                lcw.advance(5)
            with pytest.raises(RuntimeError, match="in an async test, await instead"):
                lcw.run(lcw.sdk.startChat())  # closed unrun: no "never awaited" warning

        asyncio.run(inside_a_running_loop())
        assert lcw.clock.now() == SAMPLE_START  # advance() refused before moving time


def test_a_failing_provider_keeps_its_traceback_in_the_sync_form() -> None:
    def buggy_provider(callback: Callable[[str], None]) -> None:
        callback({}["token"])  # the page's own bug

    with LcwEmulator(CONTOSO, start=SAMPLE_START) as lcw:
        lcw.sdk.setAuthTokenProvider(buggy_provider)
        with pytest.raises(LcwError) as caught:
            lcw.run(lcw.sdk.startChat)
    assert caught.value.code == 2
    assert isinstance(caught.value.__cause__, KeyError)
    assert caught.value.__cause__.__traceback__ is not None


def test_assert_recorded_covers_provider_and_service_steps(started: LcwEmulator) -> None:
    started.assert_recorded("auth token provider called", kind=EntryKind.PROVIDER, timeout=10.0)
    note = started.assert_recorded("callback ignored", kind=EntryKind.NOTE)
    assert note.detail["token"] == "'second'"
    started.widget.record(EntryKind.SERVICE, "the test's own entry")
    message = failure(lambda: started.assert_recorded("the test's own entry", kind=EntryKind.NOTE))
    assert "(note) to have been recorded" in message


def test_recorded_refuses_a_detail_its_entries_never_carry(started: LcwEmulator) -> None:
    # assert not recorded(...) with a misspelt key would pass whatever happened.
    with pytest.raises(ValueError, match=r"has no detail 'clam' \(did you mean 'claim'\?\)"):
        started.recorded("token refused", clam="exp")
    with pytest.raises(ValueError, match="timeout is a number, never a string"):
        started.assert_recorded("auth token provider called", timeout="10")
    # A misspelt name, or the SDK's Python name, which the timeline does not record.
    with pytest.raises(ValueError, match=r"'token refsed' is no name .*'token refused'\?\)"):
        started.recorded("token refsed", claim="exp")
    with pytest.raises(ValueError, match=r"did you mean 'startChat'\?"):
        started.recorded("start_chat", queued=True)
    # A test's own entries may carry any name and detail, recorded or not yet, even one
    # that resembles a name of ours.
    for own in ("fallback page shown", "chat started", "chat closed", "page loaded", "start"):
        assert started.recorded(own) == []
    started.widget.record(EntryKind.NOTE, "seen by the test", {"anything": 1})
    assert started.recorded("seen by the test", anything=1)


def test_assert_sequence_in_order_with_gaps(started: LcwEmulator) -> None:
    entries = started.assert_sequence(
        [
            "lcw:ready",
            "startChat",
            ("auth token callback", {}),
            ("chat session created", {"queue": "VIP"}),
            "lcw:chatQueued",
        ]
    )
    assert [entry.name for entry in entries][-1] == "lcw:chatQueued"
    message = failure(lambda: started.assert_sequence(["lcw:chatQueued", "lcw:startChat"]))
    assert "matched lcw:chatQueued, then found no lcw:startChat after it" in message


def test_assert_context_compares_typed_values(started: LcwEmulator) -> None:
    # Contoso declares msdyn_isvip as Text: the context holds the string, never the boolean.
    started.assert_context({"msdyn_isvip": "true"})
    message = failure(lambda: started.assert_context({"msdyn_isvip": True, "tier": "gold"}))
    assert "msdyn_isvip: expected True (bool), got 'true' (str)" in message
    assert "tier: expected 'gold' (str), missing" in message
    assert "Dropped:\n  msdyn_cartvalue:" in message
    message = failure(lambda: started.assert_context({}, exact=True))
    assert "msdyn_isvip: not expected, got 'true'" in message


def test_assert_context_takes_1_for_1_0_but_not_true(sample_token: Callable[..., str]) -> None:
    with LcwEmulator(CONTOSO, start=SAMPLE_START) as lcw:
        lcw.sdk.setAuthTokenProvider(static_token(sample_token({"msdyn_cartvalue": "1e4"})))
        lcw.run(lcw.sdk.startChat)
        lcw.assert_context({"msdyn_cartvalue": 10000})  # 10000.0: JavaScript has one number
        message = failure(lambda: lcw.assert_context({"msdyn_cartvalue": "10000"}))
    assert "expected '10000' (str), got 10000.0 (float)" in message


def test_assert_dropped_returns_the_reason(started: LcwEmulator) -> None:
    reason = started.assert_dropped("msdyn_cartvalue", match="Number")
    assert "abc" in reason
    message = failure(lambda: started.assert_dropped("msdyn_isvip"))
    assert "Expected 'msdyn_isvip' to have been dropped." in message


def test_assert_context_without_a_session() -> None:
    with LcwEmulator(CONTOSO) as lcw:
        message = failure(lambda: lcw.assert_context({"a": 1}))
    assert "no chat session was created" in message


def test_assert_error_lists_the_errors_that_fired(
    sample_token: Callable[..., str], other_keys: KeyPair
) -> None:
    with LcwEmulator(CONTOSO, start=SAMPLE_START) as lcw:
        lcw.sdk.setAuthTokenProvider(static_token(other_keys.mint({"sub": "x"})))
        with pytest.raises(LcwError):
            lcw.run(lcw.sdk.startChat)
        entry = lcw.assert_error(code=ErrorCode.INVALID_AUTH_TOKEN, match="signature")
        assert entry.detail["errorDescription"] == "Auth token provider provided invalid token"
        lcw.assert_error()
        message = failure(lambda: lcw.assert_error(code=3))
        assert "Expected an lcw:error with errorCode 3. Errors emitted:" in message
        assert "  [4] Auth token provider provided invalid token: the RS256 signature" in message
        message = failure(lambda: lcw.assert_error(code=4, match=re.compile("expired")))
        assert "whose reason matches 'expired'" in message
        message = failure(lcw.assert_no_error)
        assert "Expected no lcw:error; 1 fired:\n  [4] the RS256 signature" in message


def test_timeline_assertions_work_on_any_widget(org: Omnichannel, contoso: WorkStream) -> None:
    widget = org.widget(contoso)
    expect = TimelineAssertions(widget.timeline)
    message = failure(lambda: expect.assert_emitted("lcw:ready"))
    assert "(nothing recorded)" in message


def test_the_sync_form_leaves_the_thread_s_current_loop_alone() -> None:
    # pytest-asyncio before 1.0 keeps its loop there; the emulator's own loop must not
    # replace it, nor closing ours leave the thread without one.
    mine = asyncio.new_event_loop()
    asyncio.set_event_loop(mine)
    try:
        with LcwEmulator():
            pass
        assert asyncio.get_event_loop_policy().get_event_loop() is mine
    finally:
        asyncio.set_event_loop(None)
        mine.close()


async def test_leaving_the_async_form_cancels_what_waits_on_its_clock() -> None:
    async with LcwEmulator(start=0) as lcw:

        async def slow_context() -> dict[str, str]:
            await lcw.clock.sleep(3600)
            return {"plan": "gold"}

        lcw.sdk.setContextProvider(slow_context)
        starting = lcw.sdk.startChat()
        await asyncio.sleep(0)
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(starting, 1)  # real seconds: a hang fails, it does not block
    assert lcw.clock.now() == 0 and lcw.session is None


def test_listener_warnings_point_at_the_tests_own_with_line() -> None:
    # Not at this package's line: a warning says where it came from, and Python's default
    # once-per-location filter (unittest's) does not fold one test's warning into another's.
    from lcw_emulator import ListenerWarning

    def page_bug() -> None:
        raise TypeError("the page's own bug")

    open_chat = WorkStream.from_dict({"name": "open"})
    with (
        pytest.warns(ListenerWarning) as caught,
        LcwEmulator(open_chat, start=SAMPLE_START) as lcw,
    ):
        lcw.widget.on("lcw:ready", page_bug)
        lcw.widget.on("lcw:chatqueued", lambda: None)
        lcw.run(lcw.widget.reload)
    assert [Path(each.filename).name for each in caught] == ["test_testing.py"] * 2


async def test_listener_warnings_point_at_the_tests_own_async_with_line() -> None:
    from lcw_emulator import ListenerWarning

    with pytest.warns(ListenerWarning) as caught:
        async with LcwEmulator(WorkStream.from_dict({"name": "open"}), start=SAMPLE_START) as lcw:
            lcw.widget.on("lcw:chatqueued", lambda: None)
    assert [Path(each.filename).name for each in caught] == ["test_testing.py"]


def test_a_pattern_or_a_step_of_the_wrong_shape_says_what_it_takes() -> None:
    with LcwEmulator(CONTOSO, start=SAMPLE_START) as lcw:
        with pytest.raises(ValueError, match=r"match '\[' is not a regular expression .*re\.esc"):
            lcw.assert_error(match="[")
        with pytest.raises(ValueError, match=r"match '\(' is not a regular expression"):
            lcw.assert_dropped("k", match="(")
        with pytest.raises(TypeError, match=r"step 1 of the sequence is \('lcw:ready',\): a step"):
            lcw.assert_sequence(["lcw:ready", ("lcw:ready",)])  # type: ignore[list-item]
        # Both shapes of a step still read: a name, and (name, detail) as a tuple or a list.
        assert lcw.assert_sequence([["lcw:ready", {}]])  # type: ignore[list-item]
        assert lcw.assert_sequence([("lcw:ready", None)])


def test_an_emulator_in_use_refuses_a_second_with_and_bad_names_are_named() -> None:
    lcw = LcwEmulator(CONTOSO, start=SAMPLE_START)
    with lcw:
        with pytest.raises(RuntimeError, match="already in a with block"), lcw:
            pass  # pragma: no cover - never entered
        assert lcw.run(lambda: 5) == 5  # the outer block's loop still runs
        for not_a_name in (5, ["lcw:ready"]):  # a list is not even hashable
            with pytest.raises(TypeError, match="the event must be an lcw:\\* event name"):
                lcw.assert_emitted(not_a_name)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="the entry's name must be a name"):
            lcw.recorded(None)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="the expected context must be a mapping"):
            lcw.assert_context("msdyn_isvip")  # type: ignore[arg-type]
    with lcw:  # the same one again, after the block
        lcw.assert_emitted("lcw:ready")


def test_an_emulator_whose_enter_failed_says_why_again_when_entered_again() -> None:
    with LcwEmulator(start=SAMPLE_START) as lcw:
        pass
    failing = LcwEmulator(start=SAMPLE_START)
    failing.widget.load_failure = "network error"
    for _ in range(2):  # the second time too: the load's failure, not "already in a with"
        with pytest.raises(LcwError, match=r"\[7\].*network error"), failing:
            pass  # pragma: no cover - never entered
    assert lcw.widget.is_ready


def test_a_token_service_s_own_python_types_are_taken_as_they_mean() -> None:
    # A cart value from a database is a Decimal; times are datetimes and timedeltas.
    cart = Decimal("1249.90")
    start = dt.datetime(2026, 3, 1, 9, 0)  # naive: UTC, as jwt.encode reads it
    with LcwEmulator(CONTOSO, start=start) as lcw:
        assert lcw.clock.now() == dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC).timestamp()
        keys = KeyPair.from_private_pem((CONTOSO.parent / "keys" / "private.pem").read_text())
        provider = minted_token(
            keys,
            {"sub": "c", "iss": "contosohelp.com"},
            clock=lcw.clock,
            context={"msdyn_cartvalue": cart, "msdyn_isvip": "false"},
            lifetime=dt.timedelta(minutes=15),
        )
        lcw.sdk.setAuthTokenProvider(provider)
        session = lcw.run(lcw.sdk.startChat)
        assert session.context["msdyn_cartvalue"] == 1249.9
        lcw.assert_context({"msdyn_cartvalue": cart})  # numbers compare by value
        lcw.advance(dt.timedelta(minutes=16))
        assert lcw.clock.now() - session.history[0].at == 960
    with pytest.raises(TypeError, match=r"context\['roles'\] cannot be written into lwicontexts"):
        minted_token(keys, {}, clock=VirtualClock(start=0), context={"roles": {"vip"}})
    with pytest.raises(TypeError, match=r"got PosixPath: for a key file, KeyPair.from_private"):
        minted_token(CONTOSO.parent / "keys" / "private.pem", {}, clock=VirtualClock(start=0))  # type: ignore[arg-type]


def test_a_reason_pasted_as_printed_gets_a_hint_that_match_is_a_pattern() -> None:
    with LcwEmulator(CONTOSO, start=SAMPLE_START) as lcw:
        lcw.sdk.setAuthTokenProvider(static_token("not.a.token"))
        with pytest.raises(LcwError):
            lcw.run(lcw.sdk.startChat)
        reason = lcw.assert_error(code=4).detail["reason"]
        assert "(" in reason  # a reason as printed holds what a pattern reads otherwise
        with pytest.raises(AssertionError, match=r"match is a regular expression .* re\.escape"):
            lcw.assert_error(code=4, match=reason)  # its "(...)" reads as a group
        lcw.assert_error(code=4, match=re.escape(reason))
        with pytest.raises(AssertionError) as wrong_code:
            lcw.assert_error(code=3, match="token")  # in the code 4 reason, and it matches
        assert "regular expression" not in str(wrong_code.value)
