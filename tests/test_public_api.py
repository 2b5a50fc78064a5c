"""Properties of the public values a user compares, prints and logs."""

from __future__ import annotations

import json
import typing

import pytest

from lcw_emulator import (
    ChatAuthSettings,
    KeyPair,
    Omnichannel,
    SdkUsageError,
    WorkStream,
    load_public_keys,
)
from lcw_emulator.events import AVAILABILITY_FIELDS
from lcw_emulator.service import AgentAvailability


async def test_get_agent_availability_answers_the_fields_its_type_names(
    org: Omnichannel, contoso: WorkStream
) -> None:
    widget = org.widget(contoso)
    await widget.load()
    answer = await widget.sdk.getAgentAvailability()
    hints = typing.get_type_hints(AgentAvailability)
    assert tuple(hints) == tuple(answer) == AVAILABILITY_FIELDS
    for field, value in answer.items():
        assert isinstance(value, hints[field]), (field, value)
        # As the JavaScript object reads: result.isAgentAvailable ports line by line.
        assert getattr(answer, field) == value
    assert answer.isAgentAvailable is answer["isAgentAvailable"]
    with pytest.raises(
        AttributeError, match="getAgentAvailability's answer has no 'isAgentAvailble'"
    ):
        answer.isAgentAvailble  # noqa: B018 - the attribute read is the test
    assert answer == dict(answer) and isinstance(answer, dict)


def test_public_keys_compare_by_their_key_material(demo_keys: KeyPair, other_keys: KeyPair) -> None:
    same_again = KeyPair.from_private_pem(demo_keys.private_pem, kid=demo_keys.kid)
    assert demo_keys.public_keys(with_kid=True) == same_again.public_keys(with_kid=True)
    assert hash(demo_keys.public_keys()) == hash(same_again.public_keys())
    imposter = KeyPair.from_private_pem(other_keys.private_pem, kid=demo_keys.kid)
    assert demo_keys.public_keys(with_kid=True) != imposter.public_keys(with_kid=True)


def test_an_org_refuses_a_second_work_stream_of_the_same_name_trusting_another_key(
    demo_keys: KeyPair, other_keys: KeyPair
) -> None:
    org = Omnichannel()
    org.widget(WorkStream("Support", auth=ChatAuthSettings(keys=demo_keys.public_keys())))
    org.widget(WorkStream("Support", auth=ChatAuthSettings(keys=demo_keys.public_keys())))
    with pytest.raises(ValueError, match="already has a different work stream named 'Support'"):
        org.widget(WorkStream("Support", auth=ChatAuthSettings(keys=other_keys.public_keys())))


def test_judgements_of_the_same_token_compare_equal(
    org: Omnichannel, contoso: WorkStream, sample_token: typing.Callable[..., str]
) -> None:
    token = sample_token()
    assert org.judge_token(contoso, token) == org.judge_token(contoso, token)
    assert org.judge_token(contoso, "not.a.token") == org.judge_token(contoso, "not.a.token")
    assert org.judge_token(contoso, token) != org.judge_token(contoso, "not.a.token")


async def test_a_token_passed_instead_of_a_provider_is_not_echoed_whole(
    org: Omnichannel, contoso: WorkStream, sample_token: typing.Callable[..., str]
) -> None:
    token = sample_token()
    widget = org.widget(contoso)
    await widget.load()
    with pytest.raises(SdkUsageError) as caught:
        widget.sdk.setAuthTokenProvider(token)  # type: ignore[arg-type]
    assert token not in str(caught.value)
    assert f"got str {token[:16]}... ({len(token)} chars)" in str(caught.value)


async def test_a_timeline_prints_as_its_size(org: Omnichannel, contoso: WorkStream) -> None:
    widget = org.widget(contoso)
    await widget.load()
    assert repr(widget.timeline) == "<Timeline of 1 entry>"  # lcw:ready
    widget.minimize()
    assert repr(widget.timeline) == "<Timeline of 2 entries>"


def test_a_key_built_in_code_under_the_documented_2048_bits_is_refused_too() -> None:
    small = KeyPair.generate(kid="small", bits=1024)
    with pytest.raises(ValueError, match="public key 'small': a 1024-bit RSA key"):
        small.public_keys(with_kid=True)
    assert small.public_pem.startswith("-----BEGIN PUBLIC KEY-----")  # still written out
    # ... with its documents, so that a test can watch a work stream refuse them.
    for document in (small.public_pem, json.dumps(small.key_array()), json.dumps(small.jwks())):
        with pytest.raises(ValueError, match=r"1024|no RSA signing key"):
            load_public_keys(document)
