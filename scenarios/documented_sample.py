"""The documentation's setAuthTokenProvider sample, ported line by line to Python.

The JavaScript (Microsoft Docs, setAuthTokenProvider) listens for lcw:ready,
converts a payload to a JWT through the page's token service, sets an auth
token provider that calls back with it, and then a chat starts. Here the token
service is a function signing with the demo key, the widget is emulated, and
the clock is virtual, starting inside the sample token's validity window.

Run it:  python scenarios/documented_sample.py
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from lcw_emulator import KeyPair, LcwError, Omnichannel, VirtualClock, WorkStream

HERE = Path(__file__).parent
SIGNING_KEY = KeyPair.from_private_pem((HERE / "keys" / "private.pem").read_text())

payloadToEncrypt = {
    "sub": "87b4d06c-abc2-e811-a9b0-000d3a10e09e",
    "lwicontexts": '{"msdyn_cartvalue":"10000", "msdyn_isvip":"false"}',
    "iat": 1542622071,
    "iss": "contosohelp.com",
    "exp": 1542625672,
    "nbf": 1542622072,
}


async def convertToJwtToken(payloadToEncrypt: dict[str, object]) -> str:
    # Ideally, you call your service to convert the payload to a valid JWT token
    return SIGNING_KEY.mint(payloadToEncrypt)


async def main() -> int:
    clock = VirtualClock(start=1542622100)  # a few seconds after the sample token's iat
    org = Omnichannel(clock=clock)
    widget = org.widget(WorkStream.from_toml(HERE / "contoso.toml"))
    Microsoft_Omnichannel_LiveChatWidget_SDK = widget.sdk

    @widget.on("lcw:ready")
    async def handleLivechatReadyEvent() -> None:
        # Sets the auth-token provider
        # Throws error if authTokenProvider is not a function
        jwtToken = await convertToJwtToken(payloadToEncrypt)

        def authTokenProvider(callback):  # type: ignore[no-untyped-def]
            callback(jwtToken)

        Microsoft_Omnichannel_LiveChatWidget_SDK.setAuthTokenProvider(authTokenProvider)

    @widget.on("lcw:error")
    def handleLivechatError(event) -> None:  # type: ignore[no-untyped-def]
        print(f"lcw:error {event.detail['errorCode']}: {event.detail['reason']}")

    await widget.load()
    try:
        session = await Microsoft_Omnichannel_LiveChatWidget_SDK.startChat()
    except LcwError as error:
        print(widget.timeline.format())
        print(f"\nchat start refused: {error}")
        return 1
    print(widget.timeline.format())
    print(f"\n{session.id} is {session.state.value} in queue {session.queue.name!r}")
    for variable in session.resolution.variables:
        print(f"  {variable.name} = {variable.value!r} ({variable.type.value})")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
