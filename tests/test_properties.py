"""Property tests: hostile tokens, ``lwicontexts`` and custom context never break the emulator.

Whatever comes in, only the documented error family comes out; every refusal carries a code (or,
for the pure rules, the claim at fault) and a reason; whatever is accepted obeys every rule, as
checked by an oracle written independently here; and after any failure the same widget starts a
valid chat.

Volume: the CI profile (selected when ``CI`` is set, as CI sets ``CI=true``) runs at least
10,000 examples across these tests; locally a tenth of that. The pure rules take the volume; the
widget path a subset. Profiles are applied per test, not loaded globally, so other modules'
hypothesis tests keep their own settings.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from lcw_emulator import (
    ChatAuthSettings,
    ContextVariable,
    KeyPair,
    LcwError,
    Omnichannel,
    SessionState,
    VariableType,
    VirtualClock,
    WorkStream,
)
from lcw_emulator.auth import TokenVerdict, validate_token
from lcw_emulator.context import (
    MAX_NAME_LENGTH,
    MAX_VALUE_LENGTH,
    MAX_VARIABLES,
    ContextRefusal,
    parse_lwicontexts,
    resolve_context,
)
from lcw_emulator.token_providers import answering_with, minted_token

settings.register_profile(
    "lcw-ci", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.register_profile(
    "lcw-dev", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
IN_CI = bool(os.environ.get("CI"))
PROFILE = settings.get_profile("lcw-ci" if IN_CI else "lcw-dev")

# Examples per test in CI; locally a tenth. The CI total must stay >= 10,000 (asserted below).
CI_EXAMPLES = {
    "hs256_tokens": 3500,
    "rs256_tokens": 800,
    "garbage_tokens": 1500,
    "lwicontexts": 2000,
    "custom_context": 2000,
    "widget_tokens": 400,
    "widget_context": 400,
}


def examples(name: str) -> settings:
    count = CI_EXAMPLES[name]
    return settings(PROFILE, max_examples=count if IN_CI else max(count // 10, 20))


NOW = 1542622100
ISSUER = "contosohelp.com"
SECRET = "contoso-shared-secret-for-hs256-tokens"
LEEWAY = 30
DEMO_KEYS = KeyPair.from_private_pem(
    (Path(__file__).resolve().parent.parent / "scenarios" / "keys" / "private.pem").read_text(),
    kid="contoso-2018",
)
VARIABLES = (
    ContextVariable("msdyn_cartvalue", VariableType.NUMBER),
    ContextVariable("msdyn_isvip", VariableType.BOOLEAN),
    ContextVariable("msdyn_note", VariableType.TEXT),
)
HS_SETTINGS = ChatAuthSettings(
    algorithms=("HS256",), secret=SECRET, issuer=ISSUER, leeway=LEEWAY, max_token_bytes=8192
)
RS_SETTINGS = ChatAuthSettings(
    keys=DEMO_KEYS.public_keys(with_kid=True), issuer=ISSUER, max_token_bytes=8192
)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


# -- strategies --------------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
# Times cluster on the boundaries, where the rules live; junk now and then.
near = st.one_of(
    st.integers(min_value=NOW - 2 * LEEWAY, max_value=NOW + 2 * LEEWAY),
    st.floats(min_value=NOW - 2 * LEEWAY, max_value=NOW + 2 * LEEWAY),
)
times = st.one_of(near, near, near, st.integers(min_value=0, max_value=2**62), json_values)
primitive_values = st.one_of(
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["10000", "false", "TRUE", " 42 ", "1e3", "abc", ""]),
)
context_keys = st.one_of(
    st.sampled_from([variable.name for variable in VARIABLES]), st.text(max_size=12)
)
context_values = st.one_of(primitive_values, json_values)
well_formed_contexts = st.dictionaries(context_keys, primitive_values, max_size=6).map(json.dumps)
lwicontexts_claims = st.one_of(
    # serialised objects, mostly well-formed, sometimes with junk values
    st.dictionaries(context_keys, context_values, max_size=6).map(json.dumps),
    st.dictionaries(context_keys, primitive_values, max_size=6).map(json.dumps),
    json_values.map(json.dumps),
    st.text(max_size=40),
    json_values,  # not a string at all
)


def mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` four times in five; integers rather than one_of, whose choice is not uniform."""
    return st.integers(0, 4).flatmap(lambda pick: bad if pick == 4 else good)


@st.composite
def claim_sets(draw: st.DrawFn) -> dict[str, Any]:
    claims: dict[str, Any] = {}
    sub = st.sampled_from(["87b4d06c-abc2-e811-a9b0-000d3a10e09e", "contact-1"])
    for name, value in (
        ("sub", mostly(sub, json_values)),
        ("iat", mostly(near, times)),
        ("exp", mostly(near, times)),
        ("nbf", mostly(near, times)),
        ("iss", mostly(st.just(ISSUER), json_values)),
        ("lwicontexts", mostly(well_formed_contexts, lwicontexts_claims)),
    ):
        if draw(st.integers(0, 19)) != 19:  # each claim present 19 times in 20
            claims[name] = draw(value)
    if draw(st.integers(0, 4)) == 4:
        claims.update(draw(st.dictionaries(st.text(max_size=6), json_values, max_size=2)))
    return claims


hostile_headers = st.fixed_dictionaries(
    {
        "alg": st.one_of(
            st.sampled_from(["HS256", "RS256", "none", "None", "HS512", "hs256"]), json_values
        )
    },
    optional={
        "typ": st.sampled_from(["JWT", "jwt", "JOSE"]),
        "kid": st.one_of(st.just("contoso-2018"), json_values),
        "crit": json_values,
        "b64": st.booleans(),
        "jwk": json_values,
    },
)


headers = mostly(st.just({"alg": "HS256", "typ": "JWT"}), hostile_headers)


def mutate(token: str, data: st.DataObject) -> str:
    """Sometimes damage a token: flip, drop or insert a character."""
    how = data.draw(st.sampled_from(["keep"] * 9 + ["flip", "drop", "insert"]))
    if how == "keep" or not token:
        return token
    at = data.draw(st.integers(0, len(token) - 1))
    if how == "drop":
        return token[:at] + token[at + 1 :]
    char = data.draw(st.characters())
    return token[:at] + char + token[at + (1 if how == "flip" else 0) :]


def hs256(header: Mapping[str, Any], claims: Mapping[str, Any]) -> str:
    signing_input = (
        f"{b64(json.dumps(dict(header)).encode())}.{b64(json.dumps(dict(claims)).encode())}"
    )
    mac = hmac.new(SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


# -- the oracle --------------------------------------------------------------------------------


def _date(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or abs(value) >= 10**11:
        return None
    return float(value)


def _holds_non_finite(value: object) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_holds_non_finite(item) for item in value.values())
    if isinstance(value, list):
        return any(_holds_non_finite(item) for item in value)
    return False


def check_verdict(verdict: TokenVerdict, token: str, auth: ChatAuthSettings) -> None:
    """A verdict must be a refusal with a claim and reason, or an acceptance obeying every rule."""
    assert isinstance(verdict, TokenVerdict)
    event(f"refused: {verdict.claim}" if not verdict.accepted else "accepted")
    if not verdict.accepted:
        assert isinstance(verdict.claim, str) and verdict.claim
        assert isinstance(verdict.reason, str) and verdict.reason.strip()
        return
    claims = verdict.claims
    assert claims is not None and verdict.reason is None
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header["alg"] in auth.algorithms and "crit" not in header
    assert isinstance(claims["sub"], str) and claims["sub"].strip()
    exp, iat = _date(claims["exp"]), _date(claims["iat"])
    assert exp is not None and iat is not None
    assert exp + auth.leeway > NOW
    assert iat <= NOW + auth.leeway
    if "nbf" in claims:
        nbf = _date(claims["nbf"])
        assert nbf is not None and nbf - auth.leeway <= NOW
    assert claims["iss"] == auth.issuer
    assert not _holds_non_finite(dict(claims))  # NaN and Infinity are not JSON


# -- pure rules, for volume -------------------------------------------------------------------


@examples("hs256_tokens")
@given(header=headers, claims=claim_sets(), data=st.data())
def test_hs256_tokens_are_judged_by_the_rules(
    header: dict[str, Any], claims: dict[str, Any], data: st.DataObject
) -> None:
    token = mutate(hs256(header, claims), data)
    check_verdict(validate_token(token, HS_SETTINGS, NOW), token, HS_SETTINGS)


@examples("rs256_tokens")
@given(claims=claim_sets(), with_kid=st.booleans(), data=st.data())
def test_rs256_tokens_are_judged_by_the_rules(
    claims: dict[str, Any], with_kid: bool, data: st.DataObject
) -> None:
    try:
        minted = DEMO_KEYS.mint(claims, with_kid=with_kid)
    except ValueError:
        # No token service can send what JSON cannot hold; the HS256 test above signs such
        # claims by hand to see them refused.
        assert _holds_non_finite(claims)
        return
    token = mutate(minted, data)
    verdict = validate_token(token, RS_SETTINGS, NOW)
    check_verdict(verdict, token, RS_SETTINGS)
    if not with_kid:
        assert not verdict.accepted


garbage = st.one_of(
    st.text(max_size=200),
    st.lists(st.text(alphabet="ABCDEFabcdef0123456789-_=+/ \n", max_size=60), max_size=5).map(
        ".".join
    ),
    st.binary(max_size=100),
    json_values,
)


@examples("garbage_tokens")
@given(token=garbage)
def test_garbage_is_refused_with_a_reason(token: object) -> None:
    verdict = validate_token(token, HS_SETTINGS, NOW)
    assert not verdict.accepted
    assert verdict.claim and verdict.reason


@examples("lwicontexts")
@given(claim=lwicontexts_claims)
def test_lwicontexts_is_parsed_or_refused(claim: object) -> None:
    parsed = parse_lwicontexts(claim)
    if isinstance(parsed, ContextRefusal):
        assert isinstance(parsed.reason, str) and parsed.reason.strip()
        return
    assert isinstance(claim, str) and isinstance(parsed, dict)
    assert len(parsed) <= MAX_VARIABLES
    for key, value in parsed.items():
        assert isinstance(key, str) and len(key) <= MAX_NAME_LENGTH
        key.encode("utf-8")
        assert value is None or isinstance(value, str | int | float | bool)
        assert not isinstance(value, float) or math.isfinite(value)
        if isinstance(value, str):
            assert len(value) <= MAX_VALUE_LENGTH
            value.encode("utf-8")


custom_entries = st.one_of(
    context_values,
    st.fixed_dictionaries({"value": context_values}, optional={"isDisplayable": json_values}),
    st.fixed_dictionaries({"Value": context_values}, optional={"isDisplayable": st.booleans()}),
    st.dictionaries(st.text(max_size=5), json_values, max_size=2),
)
custom_contexts = st.dictionaries(
    st.one_of(context_keys, st.integers(), st.text(min_size=95, max_size=105)),
    custom_entries,
    max_size=8,
)
declared_sets = st.lists(
    st.builds(
        ContextVariable,
        st.one_of(context_keys.filter(bool), st.text(min_size=1, max_size=10)),
        st.sampled_from(list(VariableType)),
    ),
    max_size=4,
    unique_by=lambda variable: variable.name,
)


@examples("custom_context")
@given(raw=custom_contexts, declared=declared_sets)
def test_custom_context_is_typed_or_dropped(
    raw: dict[Any, Any], declared: list[ContextVariable]
) -> None:
    resolution = resolve_context(raw, declared)
    by_name = {variable.name: variable for variable in declared}
    # Every key is accounted for exactly once: kept or dropped with a reason.
    assert len(resolution.variables) + len(resolution.dropped) == len(raw)
    assert len(resolution.variables) <= MAX_VARIABLES
    assert all(item.reason.strip() for item in resolution.dropped)
    for variable in resolution.variables:
        assert variable.name in raw
        declared_as = by_name.get(variable.name)
        assert variable.created == (declared_as is None)
        expected = declared_as.type if declared_as else VariableType.TEXT
        assert variable.type is expected
        if expected is VariableType.NUMBER:
            assert isinstance(variable.value, int | float) and not isinstance(variable.value, bool)
        elif expected is VariableType.BOOLEAN:
            assert isinstance(variable.value, bool)
        else:
            assert isinstance(variable.value, str) and len(variable.value) <= MAX_VALUE_LENGTH


# -- the widget path, for a subset -------------------------------------------------------------

WORK_STREAM = WorkStream(
    "Properties (HS256)",
    VARIABLES,
    ChatAuthSettings(algorithms=("HS256",), secret=SECRET, issuer=ISSUER),
)
OPEN_STREAM = WorkStream("Properties (open)", VARIABLES)


async def _then_a_valid_chat(org: Omnichannel, clock: VirtualClock, widget: Any) -> None:
    if widget.work_stream.requires_authentication:
        widget.sdk.setAuthTokenProvider(
            minted_token(
                SECRET,
                {"sub": "contact-1", "iss": ISSUER},
                clock=clock,
                context={"msdyn_isvip": "true"},
            )
        )
    else:
        widget.sdk.setContextProvider(lambda: {"msdyn_isvip": {"value": True}})
    session = await widget.sdk.startChat()
    assert session.state is SessionState.QUEUED and session.context == {"msdyn_isvip": True}


def _run(coroutine: Any) -> None:
    asyncio.run(coroutine)


@examples("widget_tokens")
@given(
    answer=st.one_of(
        st.builds(hs256, headers, claim_sets()),
        garbage,
    )
)
def test_widget_survives_any_token(answer: object) -> None:
    async def scenario() -> None:
        clock = VirtualClock(start=NOW)
        org = Omnichannel(clock=clock)
        widget = org.widget(WORK_STREAM)
        errors: list[Any] = []
        widget.on("lcw:error", lambda event: errors.append(event.detail))
        await widget.load()
        widget.sdk.setAuthTokenProvider(answering_with(answer))
        try:
            session = await widget.sdk.startChat()
        except LcwError as error:
            assert error.code is not None and int(error.code) in (3, 4), error
            assert error.reason.strip()
            assert errors == [error.detail]
        else:
            assert session.state is SessionState.QUEUED and errors == []
            await widget.sdk.closeChat()
        await _then_a_valid_chat(org, clock, widget)

    _run(scenario())


@examples("widget_context")
@given(
    context=custom_contexts,
    via_provider=st.booleans(),
    provider_answer=st.one_of(custom_contexts, json_values),
)
def test_widget_survives_any_custom_context(
    context: dict[Any, Any], via_provider: bool, provider_answer: object
) -> None:
    async def scenario() -> None:
        clock = VirtualClock(start=NOW)
        org = Omnichannel(clock=clock)
        widget = org.widget(OPEN_STREAM)
        await widget.load()
        try:
            if via_provider:
                widget.sdk.setContextProvider(lambda: provider_answer)
                session = await widget.sdk.startChat()
            else:
                session = await widget.sdk.startChat({"customContext": context})
        except LcwError as error:
            assert error.code is not None and int(error.code) == 1, error
            assert via_provider and not isinstance(provider_answer, Mapping)
            assert error.reason.strip()
        else:
            assert session.state is SessionState.QUEUED
            source = provider_answer if via_provider else context
            assert isinstance(source, Mapping)
            assert len(session.resolution.variables) + len(session.dropped) == len(source)
            await widget.sdk.closeChat()
        widget.sdk.removeContextProvider()
        await _then_a_valid_chat(org, clock, widget)

    _run(scenario())


def test_ci_profile_runs_at_least_ten_thousand_examples() -> None:
    assert sum(CI_EXAMPLES.values()) >= 10_000
