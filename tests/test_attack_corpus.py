"""The attack corpus through a real widget: refused with the right code and a reason that names
the rule, never accepted, and the same widget starts a valid chat right after.

Each token case is handed over by a well-behaved provider, so the refusal is the service's
(code 4); provider cases misbehave themselves (codes 2 and 3), context provider cases give
code 1. Positive controls prove the boundaries from the other side.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from corpus import (
    CONTEXT_PROVIDER_CASES,
    ISSUER,
    NOW,
    PROVIDER_CASES,
    TOKEN_CASES,
    ContextProviderCase,
    Forge,
    ProviderCase,
    TokenCase,
    work_streams,
)

from lcw_emulator import (
    EntryKind,
    KeyPair,
    LcwError,
    Omnichannel,
    SessionState,
    VirtualClock,
    Widget,
    WorkStream,
)
from lcw_emulator.auth import validate_token
from lcw_emulator.token_providers import minted_token, static_token

SAMPLE_CONTEXT = {"msdyn_cartvalue": "10000", "msdyn_isvip": "false"}
TYPED_CONTEXT = {"msdyn_cartvalue": 10000, "msdyn_isvip": "false"}


@pytest.fixture(scope="module")
def forge(demo_keys: KeyPair, other_keys: KeyPair) -> Forge:
    return Forge(demo=demo_keys, stranger=other_keys)


@pytest.fixture(scope="module")
def streams(forge: Forge) -> dict[str, WorkStream]:
    return work_streams(forge)


async def ready_widget(work_stream: WorkStream) -> tuple[Widget, VirtualClock, list[Any]]:
    """A loaded widget on a fresh org at NOW, with its lcw:error details collected."""
    clock = VirtualClock(start=NOW)
    widget = Omnichannel(clock=clock).widget(work_stream)
    errors: list[Any] = []

    def on_error(event: Any) -> None:
        errors.append(event.detail)

    widget.on("lcw:error", on_error)
    await widget.load()
    return widget, clock, errors


async def start_valid_chat(widget: Widget, forge: Forge, clock: VirtualClock) -> None:
    """After a refusal the same widget must start a valid chat (fresh token, same page)."""
    errors_before = widget.timeline.event_names().count("lcw:error")
    if widget.work_stream.requires_authentication:
        keyring = any(key.kid for key in (widget.work_stream.auth.keys or ()))  # type: ignore[union-attr]
        widget.sdk.setAuthTokenProvider(
            minted_token(
                forge.demo,
                {"sub": "87b4d06c-abc2-e811-a9b0-000d3a10e09e", "iss": ISSUER},
                clock=clock,
                context=SAMPLE_CONTEXT,
                with_kid=keyring,
            )
        )
    else:
        widget.sdk.setContextProvider(
            lambda: {
                key: {"value": value, "isDisplayable": True}
                for key, value in SAMPLE_CONTEXT.items()
            }
        )
    session = await widget.sdk.startChat()
    assert session.state is SessionState.QUEUED
    assert session.context == TYPED_CONTEXT
    assert widget.session is session
    names = widget.timeline.event_names()
    assert names[-2:] == ["lcw:startChat", "lcw:chatQueued"]
    assert names.count("lcw:error") == errors_before


def assert_refused(
    error: LcwError, errors: list[Any], widget: Widget, code: int, reason: str
) -> None:
    assert error.code is not None and int(error.code) == code, error
    assert reason in error.reason, error.reason
    # The event and the exception carry the same thing, exactly once, after lcw:startChat.
    assert errors == [error.detail]
    names = widget.timeline.event_names()
    assert names[-2:] == ["lcw:startChat", "lcw:error"]
    assert widget.session is None


@pytest.mark.parametrize("case", TOKEN_CASES, ids=lambda case: case.id)
async def test_token_case(case: TokenCase, forge: Forge, streams: dict[str, WorkStream]) -> None:
    work_stream = streams[case.stream]
    widget, clock, errors = await ready_widget(work_stream)
    token = case.make(forge)
    widget.sdk.setAuthTokenProvider(static_token(token))
    verdict = validate_token(token, work_stream.auth, NOW)  # type: ignore[arg-type]
    if case.accepted:
        session = await widget.sdk.startChat()
        assert session.state is SessionState.QUEUED, session
        assert errors == []
        assert verdict.accepted, verdict.reason
        return
    with pytest.raises(LcwError) as caught:
        await widget.sdk.startChat()
    assert_refused(caught.value, errors, widget, 4, case.reason)
    judgement = widget.service.judge_token(work_stream, token)  # type: ignore[attr-defined]
    assert judgement.verdict.claim == case.claim, judgement.verdict.reason
    assert widget.timeline.find("token refused", {"reason": caught.value.reason})
    await start_valid_chat(widget, forge, clock)


@pytest.mark.parametrize("case", PROVIDER_CASES, ids=lambda case: case.id)
async def test_provider_case(
    case: ProviderCase, forge: Forge, streams: dict[str, WorkStream]
) -> None:
    widget, clock, errors = await ready_widget(streams[case.stream])
    widget.sdk.setAuthTokenProvider(case.make(forge, clock))
    started = clock.now()
    if case.code is None:
        session = await widget.sdk.startChat()
        assert session.state is SessionState.QUEUED
        assert errors == []
    else:
        with pytest.raises(LcwError) as caught:
            await widget.sdk.startChat()
        assert_refused(caught.value, errors, widget, case.code, case.reason)
    assert clock.now() - started == pytest.approx(case.elapsed)
    if case.after:
        await clock.sleep(case.after)
    await clock.settle()
    if case.note is not None:
        notes = [
            f"{entry.name} {dict(entry.detail)}"
            for entry in widget.timeline.of_kind(EntryKind.NOTE)
        ]
        assert any(case.note in note for note in notes), notes
    if case.code is not None:
        await start_valid_chat(widget, forge, clock)


@pytest.mark.parametrize("case", CONTEXT_PROVIDER_CASES, ids=lambda case: case.id)
async def test_context_provider_case(
    case: ContextProviderCase, forge: Forge, streams: dict[str, WorkStream]
) -> None:
    widget, clock, errors = await ready_widget(streams["open"])
    widget.sdk.setContextProvider(case.make(clock))
    started = clock.now()
    with pytest.raises(LcwError) as caught:
        await widget.sdk.startChat()
    assert_refused(caught.value, errors, widget, case.code, case.reason)
    assert clock.now() - started == pytest.approx(case.elapsed)
    await start_valid_chat(widget, forge, clock)


async def test_no_provider_is_code_8_then_recovers(
    forge: Forge, streams: dict[str, WorkStream]
) -> None:
    widget, clock, errors = await ready_widget(streams["pem"])
    with pytest.raises(LcwError) as caught:
        await widget.sdk.startChat()
    assert_refused(caught.value, errors, widget, 8, "no auth token provider is set")
    await start_valid_chat(widget, forge, clock)


async def test_refusals_in_a_row_then_a_valid_chat(
    forge: Forge, streams: dict[str, WorkStream]
) -> None:
    """One widget takes every refused token of the pem stream in turn and still recovers."""
    widget, clock, errors = await ready_widget(streams["pem"])
    refused = [case for case in TOKEN_CASES if case.stream == "pem" and not case.accepted]
    for case in refused:
        widget.sdk.setAuthTokenProvider(static_token(case.make(forge)))
        with pytest.raises(LcwError) as caught:
            await widget.sdk.startChat()
        assert caught.value.code == 4 and case.reason in caught.value.reason, case.id
    assert len(errors) == len(refused)
    assert widget.service.sessions == []  # type: ignore[attr-defined]
    await start_valid_chat(widget, forge, clock)


# What the issue lists, each mapped to the corpus cases that cover it; guards against a case
# being dropped or renamed without the coverage moving with it.
ISSUE_COVERAGE: dict[str, tuple[str, ...]] = {
    "alg none in any casing": (
        "alg-none-unsigned",
        "alg-none-with-signature",
        "alg-None-with-signature",
        "alg-NONE-with-signature",
        "alg-nOnE-with-signature",
    ),
    "HS256 signed with the RS256 public key": (
        "alg-confusion-hs256-keyed-with-public-pem",
        "alg-confusion-hs256-on-mixed-stream",
    ),
    "signed by another key": (
        "signed-by-another-key",
        "signed-by-another-key-claiming-trusted-kid",
    ),
    "tampered header or payload": ("tampered-payload-sub", "tampered-header-typ"),
    "stripped or truncated signature": ("signature-stripped", "signature-truncated-by-4"),
    "unknown kid": ("kid-unknown",),
    "kid of an expired key": ("kid-of-expired-key", "kid-of-key-expiring-exactly-now"),
    "exp boundary": (
        "exp-at-now",
        "exp-a-second-before-now",
        "exp-a-second-after-now",
        "exp-leeway-at-boundary",
        "exp-leeway-past-boundary",
        "exp-leeway-inside-boundary",
    ),
    "nbf boundary": (
        "nbf-exactly-now",
        "nbf-a-second-after-now",
        "nbf-a-second-before-now",
        "nbf-leeway-at-boundary",
        "nbf-leeway-past-boundary",
    ),
    "iat in the future": ("iat-in-the-future", "iat-leeway-past-boundary"),
    "missing sub/iat/exp": ("missing-sub", "missing-iat", "missing-exp"),
    "wrong issuer": ("wrong-issuer",),
    "exp in milliseconds": ("exp-in-milliseconds",),
    "non-numeric dates": ("exp-numeric-string", "exp-iso-date", "iat-string", "exp-nan"),
    "oversize token": ("oversize-token",),
    "lwicontexts object instead of string": ("lwicontexts-object-not-string",),
    "lwicontexts not JSON": ("lwicontexts-not-json",),
    "lwicontexts JSON but not an object": ("lwicontexts-json-array", "lwicontexts-json-null"),
    "lwicontexts nested values": ("lwicontexts-nested-object", "lwicontexts-nested-array"),
    "lwicontexts over the limits": (
        "lwicontexts-101-keys",
        "lwicontexts-name-101-chars",
        "lwicontexts-value-4001-chars",
    ),
    "non-UTF-8 bytes": (
        "payload-non-utf8-bytes",
        "lwicontexts-non-utf8-bytes",
        "lwicontexts-lone-surrogate",
        "answers-non-utf8-bytes",
    ),
    "crit header": ("crit-header",),
    "provider raises": ("provider-raises",),
    "provider never answers": ("provider-never-answers",),
    "provider answers twice": ("answers-twice-nothing-then-token",),
    "provider answers with a non-string": ("answers-number", "answers-bytes"),
    "provider answers after the timeout": ("answers-after-the-timeout",),
    "async provider raises": ("async-provider-raises",),
    "async provider cancelled": ("async-provider-cancelled",),
}


def test_corpus_covers_every_case_the_issue_lists() -> None:
    ids = [case.id for case in (*TOKEN_CASES, *PROVIDER_CASES, *CONTEXT_PROVIDER_CASES)]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    missing = {item: [i for i in cases if i not in ids] for item, cases in ISSUE_COVERAGE.items()}
    assert {item: gone for item, gone in missing.items() if gone} == {}


def test_corpus_proves_boundaries_both_ways() -> None:
    refused = [case for case in TOKEN_CASES if not case.accepted]
    controls = [case for case in TOKEN_CASES if case.accepted]
    assert all(case.code == 4 and case.reason and case.claim for case in refused)
    assert len(controls) >= 15 and len(refused) >= 80
    for claim in ("exp", "nbf", "iat"):
        names = [case.id for case in controls if case.id.startswith(claim)]
        assert any("leeway" in name for name in names), claim
        assert any("leeway" not in name for name in names), claim


def _ids(cases: tuple[Any, ...], pick: Callable[[Any], bool]) -> list[str]:
    return [case.id for case in cases if pick(case)]


def test_provider_corpus_codes() -> None:
    assert set(_ids(PROVIDER_CASES, lambda c: c.code == 2)) >= {
        "provider-raises",
        "async-provider-raises",
        "async-provider-cancelled",
    }
    assert set(_ids(PROVIDER_CASES, lambda c: c.code == 3)) >= {
        "provider-never-answers",
        "answers-after-the-timeout",
        "answers-none",
    }
    assert set(_ids(PROVIDER_CASES, lambda c: c.code == 4)) >= {"answers-number", "answers-blank"}
    assert all(case.code == 1 for case in CONTEXT_PROVIDER_CASES)


async def test_cancelling_the_start_itself_still_cancels(streams: dict[str, WorkStream]) -> None:
    """The context provider fix maps a provider's own cancellation to code 1, but a page (or a
    test) cancelling startChat must still cancel it, not be turned into an error event."""
    widget, clock, errors = await ready_widget(streams["open"])

    async def slow_context() -> object:
        await clock.sleep(5)
        return {}

    widget.sdk.setContextProvider(slow_context)
    start = widget.sdk.startChat()
    for _ in range(10):  # not clock.settle(): it spins against auto-jump while a timer is due
        await asyncio.sleep(0)
    assert widget.timeline.find("context provider called")
    assert clock.next_deadline() == NOW + 5  # the provider is waiting inside collect_context
    start.cancel()
    with pytest.raises(asyncio.CancelledError):
        await start
    assert errors == []
