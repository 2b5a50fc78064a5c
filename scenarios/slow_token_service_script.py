"""A scenario script: how slow may the token service be before chats fail?

The auth token provider has the work stream's timeout (10 s for contoso.toml)
to call back, and the limit is inclusive. This script tries a token service of
growing latency (in virtual time, so the whole sweep takes milliseconds) and
checks, for each, the outcome the documentation implies: a chat queued at the
moment the token arrives when it comes within 10 s, error 3 at exactly +10 s
when it does not.

Run it:  python scenarios/slow_token_service_script.py
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from lcw_emulator import KeyPair, ScenarioResult, ScenarioRun
from lcw_emulator.report import render_text, use_color
from lcw_emulator.scenario import ProviderSpec

HERE = Path(__file__).parent
SIGNING_KEY = KeyPair.from_private_pem((HERE / "keys" / "private.pem").read_text())
LATENCIES = (0.2, 4.0, 9.999, 10.0, 10.001, 30.0)  # seconds
TIMEOUT = 10.0  # contoso.toml's [auth].timeout


async def scenario() -> ScenarioResult:
    run = ScenarioRun(
        HERE / "contoso.toml",
        start=1_709_283_600,  # 2024-03-01T09:00:00Z
        name="Slow token service: chats start up to the 10 s limit, inclusive",
        source="scenarios/slow_token_service_script.py",
    )
    await run.load()
    for latency in LATENCIES:
        # The same provider a TOML [providers.NAME] table describes: mints a fresh
        # token from these claims when called, and calls back `delay` seconds later.
        token_service = ProviderSpec(
            name="tokenService",
            claims={"sub": "contact-1", "iss": "contosohelp.com", "exp": "+900"},
            signer=SIGNING_KEY,
            delay=latency,
        )
        await run.set_auth_token_provider(token_service)
        await run.start_chat()
        attempt = run.last_step  # times below count from this startChat
        if latency <= TIMEOUT:
            await run.expect_events(
                {"name": "auth token callback", "at": latency},
                {"name": "lcw:chatQueued", "at": latency},
                since=attempt,
            )
            await run.close_chat()
        else:
            await run.expect_events(
                {"name": "lcw:error", "detail": {"errorCode": 3}, "at": TIMEOUT}, since=attempt
            )
            await run.expect_error(3, step=attempt, reason=f"within {TIMEOUT:g} s")
    await run.expect_session(sessions=4, state="closed")
    return await run.finish()


def main() -> int:
    result = asyncio.run(scenario())
    print(render_text(result, color=use_color(sys.stdout)))
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
