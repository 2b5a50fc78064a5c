"""The benchmark harness still runs (tiny sizes), and virtual time costs no wall time."""

from __future__ import annotations

import gc
import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from lcw_emulator import Omnichannel, SessionState, VirtualClock

ROOT = Path(__file__).resolve().parent.parent


def _load_harness() -> ModuleType:
    # By path, so the test does not depend on the repository root being on sys.path.
    spec = importlib.util.spec_from_file_location("benchmarks_run", ROOT / "benchmarks" / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


run = _load_harness()


@pytest.fixture(scope="module")
def bench() -> Any:
    return run.load_bench()


def test_quick_run_prints_the_table_and_writes_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    destination = tmp_path / "results.json"
    assert run.main(["--quick", "--json", str(destination)]) == 0
    printed = capsys.readouterr().out
    results = json.loads(destination.read_text())

    floor = results["floor"]
    assert floor["rs256_decode_seconds"] > floor["rsa_verify_only_seconds"] > 0
    assert floor["hs256_decode_seconds"] > 0
    ratios = [entry["ratio"] for entry in results["runs"]]
    assert len(ratios) == run.QUICK.runs
    assert results["ratio"]["median"] == pytest.approx(statistics.median(ratios))
    for entry in results["runs"]:
        assert entry["ratio"] == pytest.approx(entry["lifecycle"] / entry["rs256_decode"])
    assert [entry["n"] for entry in results["concurrent"]] == list(run.QUICK.concurrency)
    assert all(entry["lifecycles_per_second"] > 0 for entry in results["concurrent"])
    assert results["idle_session_bytes"] > 0
    largest, smallest = results["concurrent"][-1], results["concurrent"][0]
    assert results["growth_without_collector"] == pytest.approx(
        (largest["seconds_per_lifecycle"] - largest["gc_seconds_per_lifecycle"])
        / (smallest["seconds_per_lifecycle"] - smallest["gc_seconds_per_lifecycle"])
    )
    for entry in results["concurrent"]:
        bare = entry["bare"]
        assert bare["n"] == entry["n"] and bare["lifecycles_per_second"] > 0
        assert bare["seconds_per_lifecycle"] == pytest.approx(bare["wall_seconds"] / entry["n"])
    assert results["bare_growth"] == pytest.approx(
        largest["bare"]["seconds_per_lifecycle"] / smallest["bare"]["seconds_per_lifecycle"]
    )
    assert results["virtual"]["virtual_seconds"] == 60
    assert set(results["targets"]) == {
        "ratio",
        "lifecycles_per_second",
        "idle_session_bytes",
        "virtual_wall_seconds",
        "growth",
    }
    assert results["machine"]["nproc"] >= 1
    assert results["machine"]["gc_thresholds"] == list(gc.get_threshold())

    assert printed.startswith("| measure | value | target | met |")
    for row in (
        "the floor",
        "lifecycle / RS256 floor",
        "N = 20 concurrent",
        "N = 20 bare",
        "idle (queued) chat",
    ):
        assert row in printed
    assert "Machine: nproc" in printed
    assert f"GC thresholds {'/'.join(map(str, gc.get_threshold()))}." in printed


async def test_the_harness_refuses_to_time_a_lifecycle_that_did_no_work(bench: Any) -> None:
    # A token without lwicontexts starts a chat with no context: not the measured path.
    payload = run.Bench.payload(bench, 1)
    del payload["lwicontexts"]
    token = bench.keys.mint(payload)
    org = Omnichannel(clock=VirtualClock(start=bench.start))
    widget = await run.lifecycle(org, bench.work_stream, token)
    with pytest.raises(AssertionError, match="did not do the real work"):
        run.check(widget, SessionState.CLOSED)


async def test_sixty_virtual_seconds_take_under_50_ms_of_wall_time(bench: Any) -> None:
    walls = []
    for _ in range(5):
        started = time.perf_counter()
        virtual = await run.sixty_virtual_seconds(bench, bench.mint(0))
        walls.append(time.perf_counter() - started)
        assert virtual == 60
    # The median, because other test processes share the machine.
    assert statistics.median(walls) < 0.050, walls


def _tracked() -> int:
    for _ in range(3):  # a tuple is untracked once the collector has seen its items are
        gc.collect()
    return len(gc.get_objects())


async def test_a_closed_chat_leaves_few_objects_for_the_collector(bench: Any) -> None:
    # Every object the cyclic collector tracks is walked on every full collection, and at
    # N = 10,000 those walks are most of what the emulator costs beyond its own code.
    org = Omnichannel(clock=VirtualClock(start=bench.start))
    token = bench.mint(0)
    await run.lifecycle(org, bench.work_stream, token)  # warm: the token cache, interned names
    before = _tracked()
    widgets = [await run.lifecycle(org, bench.work_stream, token) for _ in range(50)]
    for widget in widgets:
        widget.cancel()  # as a test's teardown does: it must not make pyee's set either
    per_chat = (_tracked() - before) / len(widgets)
    assert all(run.check(widget, SessionState.CLOSED) for widget in widgets)
    # 15 today. Eight are the emulator's: the widget, its SDK, its timeline (two), the
    # session, pyee's two listener tables, and the one timeline entry that holds the
    # context. Seven are the page's listener and provider closures. Before the session's
    # history, resolved context and subscribers were packed, and pyee's lock and task set
    # and the widget's session list went, it was 27.
    assert per_chat < 16, per_chat
