"""The documentation's JavaScript sample, ported line by line, as a test and as a bundled script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from lcw_emulator import KeyPair, Omnichannel, SessionState, VirtualClock, WorkStream

ROOT = Path(__file__).resolve().parent.parent

payloadToEncrypt = {
    "sub": "87b4d06c-abc2-e811-a9b0-000d3a10e09e",
    "lwicontexts": '{"msdyn_cartvalue":"10000", "msdyn_isvip":"false"}',
    "iat": 1542622071,
    "iss": "contosohelp.com",
    "exp": 1542625672,
    "nbf": 1542622072,
}


async def test_the_sample_ported_line_by_line(contoso: WorkStream, demo_keys: KeyPair) -> None:
    clock = VirtualClock(start=1542622100)
    org = Omnichannel(clock=clock)
    widget = org.widget(contoso)
    Microsoft_Omnichannel_LiveChatWidget_SDK = widget.sdk

    async def convertToJwtToken(payloadToEncrypt: dict[str, Any]) -> str:
        # Ideally, you call your service to convert the payload to a valid JWT token
        await clock.sleep(0.25)  # the token service takes a moment
        return demo_keys.mint(payloadToEncrypt)

    @widget.on("lcw:ready")
    async def handleLivechatReadyEvent() -> None:
        # Sets the auth-token provider
        # Throws error if authTokenProvider is not a function
        jwtToken = await convertToJwtToken(payloadToEncrypt)

        def authTokenProvider(callback: Any) -> None:
            callback(jwtToken)

        Microsoft_Omnichannel_LiveChatWidget_SDK.setAuthTokenProvider(authTokenProvider)

    errors: list[Any] = []
    widget.on("lcw:error", lambda event: errors.append(event.detail))

    await widget.load()
    session = await Microsoft_Omnichannel_LiveChatWidget_SDK.startChat()

    assert errors == []
    assert session.state is SessionState.QUEUED
    assert session.authenticated
    assert session.context == {"msdyn_cartvalue": 10000, "msdyn_isvip": "false"}
    assert [type(value) for value in session.context.values()] == [int, str]
    assert session.dropped == ()
    assert session.queue.name == "General"
    assert widget.timeline.event_names() == ["lcw:ready", "lcw:startChat", "lcw:chatQueued"]
    assert clock.now() == 1542622100.25


def test_the_bundled_script_runs_and_shows_the_context() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scenarios" / "documented_sample.py")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "lcw:chatQueued" in result.stdout
    assert "msdyn_cartvalue = 10000 (Number)" in result.stdout
    assert "msdyn_isvip = 'false' (Text)" in result.stdout
