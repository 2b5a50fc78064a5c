"""Scenario texts and runners the scenario tests share: the Contoso work stream, a started chat."""

from __future__ import annotations

import tomllib
from pathlib import Path

from lcw_emulator import Scenario, ScenarioResult, run_scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"

HEAD = """
name = "test"
workstream = "contoso.toml"
start = 1700000000
private_key = "keys/private.pem"
[providers.good]
claims = { sub = "contact-1", iss = "contosohelp.com", lwicontexts = { msdyn_isvip = "true" } }
"""
STARTED = (
    HEAD
    + """
[[steps]]
do = "load"
[[steps]]
do = "set_auth_token_provider"
provider = "good"
[[steps]]
do = "start_chat"
"""
)


def scenario(text: str) -> Scenario:
    """A scenario from TOML text, with paths relative to scenarios/ (contoso.toml, keys/)."""
    return Scenario.from_dict(tomllib.loads(text), base_dir=SCENARIOS, source="test.toml")


def run(text: str) -> ScenarioResult:
    return run_scenario(scenario(text))
