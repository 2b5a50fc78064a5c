"""The benchmark's optimisations change no outcome: each shortcut against the long way round."""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import inspect
import json
from collections.abc import Callable
from typing import Any
from unittest import mock

import attrs
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lcw_emulator import ChatAuthSettings, KeyPair, VirtualClock, WorkStream, auth
from lcw_emulator.widget import _takes_event

NOW = 1542622100
SECRET = "a-shared-secret-of-at-least-32-bytes"


def _segment(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _token(header: object, payload: object, signer: KeyPair | str, mutate: int | None) -> str:
    """Sign any header and payload, whatever they claim, then optionally alter one character."""
    signing_input = (
        f"{_segment(json.dumps(header).encode())}.{_segment(json.dumps(payload).encode())}"
    )
    if isinstance(signer, KeyPair):
        signature = signer.private_key.sign(
            signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()
        )
    else:
        signature = hmac.new(signer.encode(), signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{_segment(signature)}"
    if mutate is not None:
        index = mutate % len(token)
        if token[index] != ".":
            replacement = "A" if token[index] != "A" else "B"
            token = token[:index] + replacement + token[index + 1 :]
    return token


def _long_way(token: str, auth_settings: ChatAuthSettings, now: float) -> auth.TokenVerdict:
    with mock.patch.object(auth, "_claims_in_one_parse", return_value=None):
        return auth.validate_token(token, auth_settings, now)


headers = st.fixed_dictionaries(
    {},
    optional={
        "alg": st.sampled_from(["RS256", "HS256", "RS512", "none", "NONE", "", 5]),
        "typ": st.just("JWT"),
        "kid": st.sampled_from(["contoso-2018", "stranger", 7, ""]),
        "crit": st.sampled_from([["exp"], ["b64"], "exp"]),
        "b64": st.booleans(),
    },
)
payloads = st.fixed_dictionaries(
    {},
    optional={
        "sub": st.sampled_from(["87b4d06c-abc2-e811-a9b0-000d3a10e09e", "", 5]),
        "iat": st.sampled_from([NOW - 30, NOW + 60, "1542622071", 1542622071000]),
        "exp": st.sampled_from([NOW + 3600, NOW, NOW - 1]),
        "nbf": st.sampled_from([NOW - 29, NOW + 10]),
        "iss": st.sampled_from(["contosohelp.com", "elsewhere.com"]),
        "lwicontexts": st.sampled_from(['{"msdyn_cartvalue":"10000"}', "[1]", "{"]),
    },
)


@pytest.fixture(scope="module")
def work_streams(demo_keys: KeyPair, contoso: WorkStream) -> list[ChatAuthSettings]:
    assert contoso.auth is not None
    return [
        contoso.auth,  # one PEM key, no kid
        attrs.evolve(contoso.auth, keys=demo_keys.public_keys(with_kid=True)),
        attrs.evolve(
            contoso.auth,
            keys=(attrs.evolve(demo_keys.public_keys(with_kid=True)[0], expiry=NOW - 1),),
        ),
        ChatAuthSettings(algorithms=("HS256",), secret=SECRET),
        ChatAuthSettings(algorithms=("RS256", "HS256"), keys=contoso.auth.keys, secret=SECRET),
    ]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    header=headers,
    payload=payloads,
    rsa_signed=st.booleans(),
    mutate=st.none() | st.integers(min_value=0, max_value=2000),
    which=st.integers(min_value=0, max_value=4),
)
def test_one_parse_shortcut_never_changes_a_verdict(
    demo_keys: KeyPair,
    other_keys: KeyPair,
    work_streams: list[ChatAuthSettings],
    header: dict[str, Any],
    payload: dict[str, Any],
    rsa_signed: bool,
    mutate: int | None,
    which: int,
) -> None:
    signer: KeyPair | str = demo_keys if rsa_signed else SECRET
    token = _token(header, payload, signer, mutate)
    chosen = work_streams[which]
    assert auth.validate_token(token, chosen, NOW) == _long_way(token, chosen, NOW)


def test_the_shortcut_accepts_the_sample_and_the_long_way_agrees(
    sample_token: Callable[..., str], contoso: WorkStream
) -> None:
    assert contoso.auth is not None
    token = sample_token()
    verdict = auth.validate_token(token, contoso.auth, NOW)
    assert verdict.accepted
    assert auth._claims_in_one_parse(token, token.split(".")[0], contoso.auth, NOW) is not None
    assert verdict == _long_way(token, contoso.auth, NOW)


def test_time_claims_are_judged_against_each_calls_clock(
    sample_token: Callable[..., str], contoso: WorkStream
) -> None:
    # Nothing about a token is remembered between calls: the same token, later, is expired.
    assert contoso.auth is not None
    token = sample_token()
    assert auth.validate_token(token, contoso.auth, NOW).accepted
    late = auth.validate_token(token, contoso.auth, 1542625672)
    assert late.claim == "exp" and not late.accepted


def _plain() -> None: ...
def _with_event(event: object) -> None: ...
def _varargs(*args: object) -> None: ...
def _keyword_only(*, event: object = None) -> None: ...
def _defaulted(event: object = None) -> None: ...
def _positional_only(event: object, /) -> None: ...
def _kwargs(**kwargs: object) -> None: ...
async def _async_with_event(event: object) -> None: ...
async def _async_plain() -> None: ...


@functools.wraps(_with_event)
def _wrapped_plain() -> None: ...


class _Listener:
    def on_event(self, event: object) -> None: ...
    def on_nothing(self) -> None: ...
    def __call__(self, event: object) -> None: ...


@pytest.mark.parametrize(
    "handler",
    [
        _plain,
        _with_event,
        _varargs,
        _keyword_only,
        _defaulted,
        _positional_only,
        _kwargs,
        _async_with_event,
        _async_plain,
        _wrapped_plain,
        _Listener().on_event,
        _Listener().on_nothing,
        _Listener(),
        functools.partial(_with_event),
        print,
        lambda: None,
        lambda event: None,
    ],
)
def test_takes_event_reads_code_as_inspect_signature_would(handler: Callable[..., Any]) -> None:
    try:
        parameters = inspect.signature(handler).parameters.values()
        expected = any(
            p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
            for p in parameters
        )
    except (TypeError, ValueError):
        expected = True
    assert _takes_event(handler) is expected


async def test_wait_for_an_answer_already_given_arms_no_deadline() -> None:
    clock = VirtualClock(start=NOW)
    answered: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    answered.set_result("token")
    assert await clock.wait_for(answered, 10) == "token"
    assert clock.pending == 0

    failed: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    failed.set_exception(RuntimeError("provider broke"))
    with pytest.raises(RuntimeError, match="provider broke"):
        await clock.wait_for(failed, 10)

    cancelled: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await clock.wait_for(cancelled, 10)
    assert clock.pending == 0 and clock.now() == NOW


async def test_wait_for_an_answer_still_to_come_keeps_its_inclusive_deadline() -> None:
    clock = VirtualClock(start=NOW)

    async def answer_at(seconds: float) -> str:
        await clock.sleep(seconds)
        return "token"

    assert await clock.wait_for(answer_at(10), 10) == "token"
    with pytest.raises(TimeoutError):
        await clock.wait_for(answer_at(10.5), 10)
