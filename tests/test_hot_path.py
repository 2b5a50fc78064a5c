"""The benchmark's optimisations change no outcome: each shortcut against the long way round."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import hashlib
import hmac
import inspect
import json
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import attrs
import jwt
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lcw_emulator import (
    ChatAuthSettings,
    EntryKind,
    KeyPair,
    Omnichannel,
    Timeline,
    TimelineEntry,
    VirtualClock,
    WorkStream,
    auth,
)
from lcw_emulator.sdk import LiveChatSDK
from lcw_emulator.token_providers import static_token
from lcw_emulator.widget import _takes_event

NOW = 1542622100
SECRET = "a-shared-secret-of-at-least-32-bytes"
CLAIMS = {"sub": "contact-1", "iat": NOW - 30, "exp": NOW + 3600, "iss": "contosohelp.com"}


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
    """The verdict with neither shortcut: one parse skipped, no decode remembered."""
    with (
        mock.patch.object(auth, "_claims_in_one_parse", return_value=None),
        mock.patch.object(auth, "_verified", OrderedDict()),
    ):
        return auth.validate_token(token, auth_settings, now)


@contextlib.contextmanager
def _cache_of_its_own() -> Iterator[OrderedDict[str, Any]]:
    """An empty verified-decode cache for the duration, so tests see only their own entries."""
    with mock.patch.object(auth, "_verified", OrderedDict()) as verified:
        yield verified


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
    # Only the signature check may be remembered between calls: the same token, later, is
    # expired.
    assert contoso.auth is not None
    token = sample_token()
    assert auth.validate_token(token, contoso.auth, NOW).accepted
    late = auth.validate_token(token, contoso.auth, 1542625672)
    assert late.claim == "exp" and not late.accepted


def _canonical_the_long_way(segment: str) -> bool:
    if len(segment) % 4 == 1:
        return False
    decoded = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    return base64.urlsafe_b64encode(decoded).rstrip(b"=").decode("ascii") == segment


@settings(max_examples=2000, deadline=None)
@given(
    segment=st.text(alphabet=auth._BASE64URL_ALPHABET, max_size=12)
    | st.binary(max_size=40).map(_segment)
)
def test_canonical_base64url_by_last_character_agrees_with_decoding(segment: str) -> None:
    assert auth._canonical_base64url(segment) is _canonical_the_long_way(segment)


times = st.sampled_from([NOW, NOW - 100, NOW + 3599, NOW + 3600, NOW + 7200])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    header=headers,
    payload=payloads,
    rsa_signed=st.booleans(),
    mutate=st.none() | st.integers(min_value=0, max_value=2000),
    first=st.integers(min_value=0, max_value=4),
    then=st.integers(min_value=0, max_value=4),
    first_now=times,
    then_now=times,
)
def test_a_warm_cache_never_changes_a_verdict(
    demo_keys: KeyPair,
    work_streams: list[ChatAuthSettings],
    header: dict[str, Any],
    payload: dict[str, Any],
    rsa_signed: bool,
    mutate: int | None,
    first: int,
    then: int,
    first_now: int,
    then_now: int,
) -> None:
    # Whatever the first judgement (accepted, refused, another work stream, another time)
    # left in the cache, the second is the one a cold cache gives.
    token = _token(header, payload, demo_keys if rsa_signed else SECRET, mutate)
    with _cache_of_its_own():
        warming = auth.validate_token(token, work_streams[first], first_now)
        assert warming == _long_way(token, work_streams[first], first_now)
        warm = auth.validate_token(token, work_streams[then], then_now)
    assert warm == _long_way(token, work_streams[then], then_now)


@contextlib.contextmanager
def _signature_checks() -> Iterator[list[str]]:
    """The algorithm of every signature PyJWT checks meanwhile, by either path."""
    checked: list[str] = []
    original = jwt.PyJWS._verify_signature

    def counting(self: jwt.PyJWS, *args: Any, **kwargs: Any) -> None:
        checked.append(args[1]["alg"])
        original(self, *args, **kwargs)

    with mock.patch.object(jwt.PyJWS, "_verify_signature", counting):
        yield checked


def test_a_repeat_skips_the_signature_check_and_still_judges_time(
    sample_token: Callable[..., str], contoso: WorkStream
) -> None:
    assert contoso.auth is not None
    token = sample_token()
    with _cache_of_its_own(), _signature_checks() as checked:
        first = auth.validate_token(token, contoso.auth, NOW)
        again = auth.validate_token(token, contoso.auth, NOW)
        expired = auth.validate_token(token, contoso.auth, 1542625672)
        not_yet = auth.validate_token(token, contoso.auth, 1542622071)
    assert checked == ["RS256"]
    assert first.accepted and again == first == _long_way(token, contoso.auth, NOW)
    assert expired.claim == "exp" and expired == _long_way(token, contoso.auth, 1542625672)
    assert not_yet.claim == "nbf" and not_yet == _long_way(token, contoso.auth, 1542622071)


def test_a_fresh_token_is_decoded_once_and_never_through_jwt_decode(
    sample_token: Callable[..., str], contoso: WorkStream
) -> None:
    assert contoso.auth is not None
    token = sample_token()
    with (
        _cache_of_its_own(),
        _signature_checks() as checked,
        mock.patch.object(jwt, "decode", wraps=jwt.decode) as decode,
    ):
        verdict = auth.validate_token(token, contoso.auth, NOW)
    assert checked == ["RS256"] and decode.call_count == 0
    assert verdict.accepted and verdict == _long_way(token, contoso.auth, NOW)


@settings(max_examples=500, deadline=None)
@given(data=st.binary(max_size=300))
def test_segments_go_to_pyjwts_decoder_as_pyjwts_own_check_would_pass_them(data: bytes) -> None:
    # What validate_token lets through is canonical base64url without padding; for those,
    # the shortcut and PyJWT's own segment check agree, and PyJWT's check never refuses.
    segment = _segment(data).encode("ascii")
    assert auth._NOT_BASE64URL.search(segment.decode()) is None
    assert auth._canonical_base64url(segment.decode())
    # PyJWT before 2.15 has no segment check of its own: it base64url-decodes each segment.
    stock_check = getattr(jwt.PyJWS, "_decode_base64url_segment", None)
    stock = stock_check(segment, "payload") if stock_check else jwt.utils.base64url_decode(segment)
    assert auth._SegmentsCheckedJWS._decode_base64url_segment(segment, "payload") == stock == data


@pytest.mark.parametrize("extra", [{"nested": ["list"]}, "flat"])
def test_remembered_claims_are_a_copy_each_caller_owns(
    sample_token: Callable[..., str], contoso: WorkStream, extra: object
) -> None:
    assert contoso.auth is not None
    token = sample_token(extra=extra)
    with _cache_of_its_own():
        first = auth.validate_token(token, contoso.auth, NOW).claims
        assert isinstance(first, dict)
        first["sub"] = "someone else"
        if isinstance(extra, dict):
            first["extra"]["nested"].append("changed")
        again = auth.validate_token(token, contoso.auth, NOW).claims
    assert again == _long_way(token, contoso.auth, NOW).claims
    assert again is not None and again["extra"] == extra and again["sub"] != "someone else"


def test_the_same_token_against_another_key_is_checked_again(
    sample_token: Callable[..., str], contoso: WorkStream, other_keys: KeyPair
) -> None:
    assert contoso.auth is not None
    token = sample_token()
    stranger = attrs.evolve(contoso.auth, keys=other_keys.public_keys())
    with _cache_of_its_own():
        assert auth.validate_token(token, contoso.auth, NOW).accepted
        refused = auth.validate_token(token, stranger, NOW)
    assert refused.claim == "signature" and refused == _long_way(token, stranger, NOW)


def test_kid_key_expiry_is_judged_on_every_call(contoso: WorkStream, demo_keys: KeyPair) -> None:
    assert contoso.auth is not None
    key = attrs.evolve(demo_keys.public_keys(with_kid=True)[0], expiry=NOW + 60)
    with_kid = attrs.evolve(contoso.auth, keys=(key,))
    token = demo_keys.mint(CLAIMS, with_kid=True)
    with _cache_of_its_own():
        assert auth.validate_token(token, with_kid, NOW).accepted
        late = auth.validate_token(token, with_kid, NOW + 60)
    assert late.claim == "kid" and late == _long_way(token, with_kid, NOW + 60)


def test_a_refusal_is_never_remembered(contoso: WorkStream, other_keys: KeyPair) -> None:
    assert contoso.auth is not None
    forged = other_keys.mint(CLAIMS)
    with _cache_of_its_own() as verified:
        for _ in range(2):
            verdict = auth.validate_token(forged, contoso.auth, NOW)
            assert verdict.claim == "signature" and verdict == _long_way(forged, contoso.auth, NOW)
        assert not verified


def test_the_cache_is_bounded_and_forgets_the_least_recently_used() -> None:
    hs256 = ChatAuthSettings(algorithms=("HS256",), secret=SECRET)
    tokens = [
        auth.mint_token(
            {"sub": f"c{i}", "iss": "x", "iat": NOW, "exp": NOW + 60}, SECRET, algorithm="HS256"
        )
        for i in range(auth.VERIFIED_CACHE_SIZE + 1)
    ]
    with _cache_of_its_own() as verified:
        for token in tokens[:-1]:
            assert auth.validate_token(token, hs256, NOW).accepted
        assert auth.validate_token(tokens[0], hs256, NOW).accepted  # now the most recent
        assert auth.validate_token(tokens[-1], hs256, NOW).accepted
        assert len(verified) == auth.VERIFIED_CACHE_SIZE
        remembered = set(verified)
    assert tokens[0] in remembered and tokens[1] not in remembered


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


def _as_task(self: LiveChatSDK, method: str, detail: Any, action: Callable[[], Any]) -> Any:
    """closeChat the long way: a task around a coroutine."""

    async def coroutine(_: None) -> Any:
        return action()

    return self._call_async(method, detail, coroutine, None)


async def _page_that_does_not_wait(contoso: WorkStream, token: str, *, with_tasks: bool) -> str:
    """A page that starts, closes, cancels and asks without awaiting in between."""
    long_way = mock.patch.object(LiveChatSDK, "_call_soon", _as_task)
    with long_way if with_tasks else contextlib.nullcontext():
        widget = Omnichannel(clock=VirtualClock(start=NOW)).widget(contoso)
        widget.on("lcw:ready", lambda: widget.sdk.setAuthTokenProvider(static_token(token)))
        await widget.load()
        started = widget.sdk.startChat()
        closed = widget.sdk.closeChat()  # same tick: runs after startChat's first step
        widget.on("lcw:onClose", lambda: widget.record(EntryKind.NOTE, "late listener heard"))
        dropped = widget.sdk.closeChat()
        dropped.cancel()  # cancelled before it runs: it never runs
        asked = widget.sdk.getAgentAvailability()  # a task in either case, between the two
        await started
        await closed
        assert (await asked)["positionInQueue"] == 1  # asked after the close
        assert dropped.cancelled()
        await asyncio.sleep(0)
    return widget.timeline.format()


async def test_calls_that_never_wait_keep_the_order_and_outcomes_of_a_task(
    contoso: WorkStream, sample_token: Callable[..., str]
) -> None:
    token = sample_token()
    without_tasks = await _page_that_does_not_wait(contoso, token, with_tasks=False)
    with_tasks = await _page_that_does_not_wait(contoso, token, with_tasks=True)
    assert without_tasks == with_tasks
    assert "lcw:onClose" in with_tasks and "late listener heard" in with_tasks
    assert with_tasks.index("lcw:onClose") < with_tasks.index("lcw:getAgentAvailability")


def test_accepted_claims_share_their_names_across_tokens(
    sample_token: Callable[..., str], contoso: WorkStream
) -> None:
    # Every session keeps its claims; the names are interned so that they are stored once.
    assert contoso.auth is not None
    first = auth.validate_token(sample_token(jti="one"), contoso.auth, NOW).claims
    second = auth.validate_token(sample_token(jti="two"), contoso.auth, NOW).claims
    assert first is not None and second is not None and first.keys() == second.keys()
    assert all(a is b for a, b in zip(first, second, strict=True))


def test_the_compact_timeline_reads_back_like_a_list_of_entries() -> None:
    timeline = Timeline()
    detail = {"method": "startChat"}
    timeline.record(1.0, EntryKind.SDK_CALL, "startChat")
    timeline.record(2.0, EntryKind.NOTE, "replaying queued call", detail)
    timeline.record(3.0, EntryKind.EVENT, "lcw:chatQueued", {})
    detail["method"] = "changed by the caller afterwards"
    expected = [
        TimelineEntry(1.0, EntryKind.SDK_CALL, "startChat", {}),
        TimelineEntry(2.0, EntryKind.NOTE, "replaying queued call", {"method": "startChat"}),
        TimelineEntry(3.0, EntryKind.EVENT, "lcw:chatQueued", {}),
    ]
    assert list(timeline) == expected and len(timeline) == 3
    assert [timeline[i] for i in (0, 1, 2, -1, -2, -3)] == expected + expected[::-1]
    assert timeline[1:] == expected[1:] and timeline[::-1] == expected[::-1]
    assert timeline[5:] == []
    for outside in (3, -4):
        with pytest.raises(IndexError):
            timeline[outside]
    assert timeline.events == expected[2:]
    assert timeline.find("replaying queued call", {"method": "startChat"}) == [expected[1]]


def test_a_token_longer_than_any_real_one_is_judged_but_not_remembered(
    sample_token: Callable[..., str], contoso: WorkStream
) -> None:
    assert contoso.auth is not None
    token = sample_token(extra="x" * auth.REMEMBERED_TOKEN_CHARS)
    with _cache_of_its_own() as verified, _signature_checks() as checked:
        verdicts = [auth.validate_token(token, contoso.auth, NOW) for _ in range(2)]
        assert not verified
    assert checked == ["RS256", "RS256"]
    assert verdicts[0].accepted and verdicts == [_long_way(token, contoso.auth, NOW)] * 2
