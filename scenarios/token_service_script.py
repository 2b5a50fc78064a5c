"""A scenario script: your own token service, three customers, and the queue each one reaches.

What a TOML scenario cannot say, a script can: the auth token provider here is
a Python function standing in for the page's real token service (it looks the
customer up and builds the JWT payload the way a backend would), and the same
checks run for every customer in a loop. It uses the scenario runner's Python
API, :class:`lcw_emulator.ScenarioRun`, so the report is the same one
``lcw-emulator run`` prints.

Run it:  python scenarios/token_service_script.py
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path

from lcw_emulator import KeyPair, ScenarioResult, ScenarioRun
from lcw_emulator.report import render_text, use_color

HERE = Path(__file__).parent
SIGNING_KEY = KeyPair.from_private_pem((HERE / "keys" / "private.pem").read_text())

# The backend's view of its customers.
CUSTOMERS = {
    "contact-ana": {"cart": 18500, "vip": True},
    "contact-ben": {"cart": 40, "vip": False},
    "contact-cy": {"cart": 0, "vip": False},
}
EXPECTED_QUEUE = {"contact-ana": "VIP", "contact-ben": "General", "contact-cy": "General"}


def token_service(run: ScenarioRun, customer: str) -> Callable[[Callable[[str], None]], None]:
    """The page's auth token provider: asks "the backend" for a JWT, calls back with it."""

    def authTokenProvider(callback: Callable[[str], None]) -> None:
        record = CUSTOMERS[customer]
        now = int(run.clock.now())
        payload = {
            "sub": customer,
            "iss": "contosohelp.com",
            "iat": now,
            "nbf": now,
            "exp": now + 900,
            # Strings, as a backend serialising a form would send them.
            "lwicontexts": json.dumps(
                {"msdyn_cartvalue": str(record["cart"]), "msdyn_isvip": str(record["vip"]).lower()}
            ),
        }
        callback(SIGNING_KEY.mint(payload))

    return authTokenProvider


async def scenario() -> ScenarioResult:
    run = ScenarioRun(
        HERE / "contoso.toml",
        start=1_709_283_600,  # 2024-03-01T09:00:00Z
        name="Token service script: every customer reaches the right queue",
        source="scenarios/token_service_script.py",
    )
    await run.load()
    for customer, queue in EXPECTED_QUEUE.items():
        await run.set_auth_token_provider(token_service(run, customer))
        await run.start_chat()
        record = CUSTOMERS[customer]
        # msdyn_cartvalue is a Number; msdyn_isvip is Text, so it stays the string sent.
        await run.expect_context(
            {"msdyn_cartvalue": record["cart"], "msdyn_isvip": str(record["vip"]).lower()}
        )
        await run.expect_session(state="queued", queue=queue, customer=customer)
        await run.close_chat()
    await run.expect_never({"name": "lcw:error"})
    await run.expect_session(sessions=len(CUSTOMERS), state="closed")
    return await run.finish()


def main() -> int:
    result = asyncio.run(scenario())
    print(render_text(result, color=use_color(sys.stdout)))
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
