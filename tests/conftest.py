"""Shared fixtures: the Contoso work stream of the documented sample, its demo key, a clock."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from lcw_emulator import KeyPair, Omnichannel, VirtualClock, WorkStream
from lcw_emulator.events import Timeline, detail_problem
from lcw_emulator.scenario import TIMELINE_NAMES

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
SAMPLE_START = 1542622100  # inside the documentation's sample token window

SAMPLE_PAYLOAD: dict[str, Any] = {
    "sub": "87b4d06c-abc2-e811-a9b0-000d3a10e09e",
    "lwicontexts": '{"msdyn_cartvalue":"10000", "msdyn_isvip":"false"}',
    "iat": 1542622071,
    "iss": "contosohelp.com",
    "exp": 1542625672,
    "nbf": 1542622072,
}


@pytest.fixture(autouse=True, scope="session")
def _entries_keep_to_their_declared_detail() -> Iterator[None]:
    """Every entry the suite records has only the detail keys and JSON types declared for it.

    Scenario and test checks refuse a key an entry never carries (a ``never`` check on it
    could never fail), so the declarations must hold for whatever the emulator records.
    """
    record = Timeline.record

    def checked(
        self: Timeline, at: float, kind: Any, name: str, detail: Mapping[str, Any] | None = None
    ) -> None:
        if name in TIMELINE_NAMES and detail:
            problem = detail_problem(name, detail)
            assert problem is None, f"recorded {name!r} with {dict(detail)}: {problem}"
        record(self, at, kind, name, detail)

    Timeline.record = checked  # type: ignore[method-assign]
    try:
        yield
    finally:
        Timeline.record = record  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def demo_keys() -> KeyPair:
    """The committed demo key pair that signs for scenarios/contoso.toml."""
    pem = (SCENARIOS / "keys" / "private.pem").read_text()
    return KeyPair.from_private_pem(pem, kid="contoso-2018")


@pytest.fixture(scope="session")
def other_keys() -> KeyPair:
    """A key pair the work stream does not trust."""
    return KeyPair.generate(kid="stranger")


@pytest.fixture(scope="session")
def contoso() -> WorkStream:
    return WorkStream.from_toml(SCENARIOS / "contoso.toml")


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(start=SAMPLE_START)


@pytest.fixture
def org(clock: VirtualClock) -> Omnichannel:
    return Omnichannel(clock=clock)


@pytest.fixture
def sample_token(demo_keys: KeyPair) -> Callable[..., str]:
    """Mint the sample payload, with claims overridden or removed (value ``...``)."""

    def mint(context: dict[str, Any] | None = None, **overrides: Any) -> str:
        payload = dict(SAMPLE_PAYLOAD)
        if context is not None:
            payload["lwicontexts"] = json.dumps(context)
        for key, value in overrides.items():
            if value is ...:
                payload.pop(key, None)
            else:
                payload[key] = value
        return demo_keys.mint(payload)

    return mint
