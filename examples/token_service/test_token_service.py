"""Our token service's tokens, judged by the emulated Omnichannel before we deploy."""

from __future__ import annotations

import pytest
from token_service import TokenService

from lcw_emulator import LcwEmulator, LcwError, WorkStream
from lcw_emulator.http_token_provider import http_token_provider
from lcw_emulator.providers import AuthTokenProvider
from lcw_emulator.token_providers import static_token

# Every test in this file gets the widget of our work stream (path relative to this file).
pytestmark = pytest.mark.lcw("workstream.toml")


def ask_our_service(
    lcw: LcwEmulator, token_url: str, user: str = "contact-42", **context: object
) -> AuthTokenProvider:
    """The page's auth token provider: POST who the customer is and their context."""
    return http_token_provider(
        f"{token_url}/token", clock=lcw.clock, json={"user": user, "context": context}
    )


def test_our_tokens_start_an_authenticated_chat(lcw: LcwEmulator, token_url: str) -> None:
    lcw.sdk.setAuthTokenProvider(
        ask_our_service(lcw, token_url, msdyn_cartvalue="10000", msdyn_isvip="false")
    )
    session = lcw.run(lcw.sdk.startChat)

    assert session.customer_id == "contact-42"
    lcw.assert_context({"msdyn_cartvalue": 10000, "msdyn_isvip": "false"}, exact=True)
    lcw.assert_sequence(
        ["auth token provider called", "auth token callback", "chat session created"]
    )
    lcw.assert_emitted("lcw:chatQueued")


def test_vip_customers_reach_the_vip_queue(lcw: LcwEmulator, token_url: str) -> None:
    lcw.sdk.setAuthTokenProvider(ask_our_service(lcw, token_url, msdyn_isvip="true"))
    session = lcw.run(lcw.sdk.startChat)
    assert session.queue.name == "VIP"


def test_a_cart_value_that_is_not_a_number_is_dropped(lcw: LcwEmulator, token_url: str) -> None:
    lcw.sdk.setAuthTokenProvider(ask_our_service(lcw, token_url, msdyn_cartvalue="ten"))
    lcw.run(lcw.sdk.startChat)
    lcw.assert_dropped("msdyn_cartvalue", match="not a number")
    lcw.assert_no_error()


def test_our_tokens_are_refused_after_an_hour(
    lcw: LcwEmulator, token_service: TokenService
) -> None:
    lcw.sdk.setAuthTokenProvider(static_token(token_service.mint("contact-42", {})))
    lcw.advance(3600)  # virtual time: costs nothing
    with pytest.raises(LcwError):
        lcw.run(lcw.sdk.startChat)
    lcw.assert_error(code=4, match="the token expired at exp")


def test_a_request_our_service_rejects_is_error_2(lcw: LcwEmulator, token_url: str) -> None:
    lcw.sdk.setAuthTokenProvider(
        http_token_provider(f"{token_url}/token", clock=lcw.clock, json={"context": {}})
    )
    with pytest.raises(LcwError):
        lcw.run(lcw.sdk.startChat)
    lcw.assert_error(code=2, match="answered HTTP 400")


def test_omnichannel_can_fetch_our_key_from_our_key_url(token_url: str) -> None:
    # The public key URL names our running service, so this work stream is built in code.
    work_stream = WorkStream.from_dict(
        {
            "name": "Contoso help (key by URL)",
            "auth": {"public_key_url": f"{token_url}/keys.json", "issuer": "contosohelp.com"},
        }
    )
    with LcwEmulator(work_stream) as lcw:
        lcw.sdk.setAuthTokenProvider(ask_our_service(lcw, token_url))
        lcw.run(lcw.sdk.startChat)
        lcw.assert_recorded("public keys fetched", kids=["contoso-2026"])
        lcw.assert_emitted("lcw:chatQueued")
