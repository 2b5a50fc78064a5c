"""What a chat lifecycle costs next to the RS256 check it must make.

Run from the repository root::

    python -m benchmarks.run            # the full run (about a minute)
    python -m benchmarks.run --quick    # tiny sizes, to check the harness works
    python -m benchmarks.run --profile 2000   # where a lifecycle's time goes (cProfile)

Everything is measured in one process and one run, so the ratio compares like
with like on whatever the machine is doing at the time:

1. the floor: a bare ``jwt.decode`` of an RS256 token with its public key
   (and of an HS256 token with its secret);
2. one full authenticated lifecycle through the public API, with the same
   token: ``Omnichannel``, ``org.widget(ws)``, ``widget.load()`` firing
   ``lcw:ready``, the auth token provider's callback, validation, context
   resolution, ``startChat``, ``closeChat`` (the signature check of a token that
   passed is remembered, as the issue allows, so repeats skip PyJWT; every rule that
   depends on the work stream or the clock is still judged);
3. the ratio of 2 to 1 (median of several runs), the figure we track;
4. N concurrent lifecycles on one event loop, each with its own token minted
   before timing (so nothing can skip a signature check), and the memory an
   idle chat holds (tracemalloc); beside them, as a diagnostic, the same N tokens
   through the least any asyncio emulator must do (a task per chat that runs
   ``jwt.decode``), which shows what the event loop and the collector cost alone;
5. the wall time of a scenario that holds 60 s of virtual timeouts.

The table is printed as Markdown and the numbers are written as JSON.
The cyclic garbage collector stays on while timing, as it is in a test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from lcw_emulator import (
    ChatSession,
    KeyPair,
    LcwError,
    Omnichannel,
    SessionState,
    VirtualClock,
    Widget,
    WorkStream,
    mint_token,
)
from lcw_emulator.token_providers import delayed, never_answering, static_token

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
DEFAULT_JSON = Path(__file__).resolve().parent / "results.json"

HS256_SECRET = "benchmark-shared-secret-of-32-bytes!"
EXPECTED_CONTEXT = {"msdyn_cartvalue": 10000, "msdyn_isvip": "false"}

# What the issue asks the emulator to reach.
TARGET_RATIO = 1.5
TARGET_PER_SECOND = 10_000
TARGET_BYTES_PER_SESSION = 5 * 1024
TARGET_VIRTUAL_WALL = 0.050
TARGET_GROWTH = 1.3
VIRTUAL_SECONDS = 60.0


@dataclass(frozen=True)
class Bench:
    """What every measurement shares: the Contoso work stream, its key, a start time."""

    work_stream: WorkStream
    keys: KeyPair
    public_key: rsa.RSAPublicKey
    start: int  # epoch seconds; the virtual clocks start here and tokens are valid now

    def payload(self, serial: int) -> dict[str, Any]:
        """The documentation's sample payload, unique per ``serial``, valid at ``start``."""
        return {
            "sub": f"87b4d06c-abc2-e811-a9b0-{serial:012d}",
            "lwicontexts": '{"msdyn_cartvalue":"10000", "msdyn_isvip":"false"}',
            "iat": self.start - 30,
            "iss": "contosohelp.com",
            "exp": self.start + 3600,
            "nbf": self.start - 29,
            "jti": f"bench-{serial}",
        }

    def mint(self, serial: int) -> str:
        return self.keys.mint(self.payload(serial))

    def mint_many(self, count: int, first: int) -> list[str]:
        return [self.mint(serial) for serial in range(first, first + count)]


def load_bench() -> Bench:
    work_stream = WorkStream.from_toml(SCENARIOS / "contoso.toml")
    assert work_stream.auth is not None and work_stream.auth.keys
    keys = KeyPair.from_private_pem((SCENARIOS / "keys" / "private.pem").read_text())
    return Bench(work_stream, keys, work_stream.auth.keys[0].key, int(time.time()))


# -- the workloads ------------------------------------------------------------


async def open_chat(org: Omnichannel, work_stream: WorkStream, token: str) -> Widget:
    """Load a widget, hand over ``token`` from lcw:ready, and start a chat (left queued)."""
    widget = org.widget(work_stream)

    @widget.on("lcw:ready")
    def handle_ready() -> None:
        widget.sdk.setAuthTokenProvider(static_token(token))

    await widget.load()
    await widget.sdk.startChat()
    return widget


async def lifecycle(org: Omnichannel, work_stream: WorkStream, token: str) -> Widget:
    """One authenticated chat, from loading the widget to closeChat."""
    widget = await open_chat(org, work_stream, token)
    await widget.sdk.closeChat()
    return widget


def check(widget: Widget, state: SessionState) -> ChatSession:
    """Fail loudly unless the widget's chat really started, with the sample's context."""
    session = widget.session
    if session is None or session.state is not state or session.context != EXPECTED_CONTEXT:
        raise AssertionError(f"the lifecycle did not do the real work: {widget.timeline.format()}")
    return session


def per_call(action: Callable[[], object], number: int) -> float:
    """Wall seconds per call of ``action``, over ``number`` calls."""
    started = time.perf_counter()
    for _ in range(number):
        action()
    return (time.perf_counter() - started) / number


async def sequential_lifecycles(bench: Bench, token: str, number: int) -> float:
    """Wall seconds per lifecycle, each in a fresh org, one after another."""
    widget: Widget | None = None
    started = time.perf_counter()
    for _ in range(number):
        org = Omnichannel(clock=VirtualClock(start=bench.start))
        widget = await lifecycle(org, bench.work_stream, token)
    elapsed = time.perf_counter() - started
    assert widget is not None
    check(widget, SessionState.CLOSED)
    return elapsed / number


async def concurrent_lifecycles(bench: Bench, tokens: Sequence[str]) -> float:
    """Wall seconds for ``len(tokens)`` lifecycles run together in one org on this loop."""
    org = Omnichannel(clock=VirtualClock(start=bench.start))
    started = time.perf_counter()
    widgets = await asyncio.gather(*(lifecycle(org, bench.work_stream, t) for t in tokens))
    elapsed = time.perf_counter() - started
    customers = {check(widget, SessionState.CLOSED).customer_id for widget in widgets}
    if len(customers) != len(tokens):
        raise AssertionError("each lifecycle must have used its own token")
    return elapsed


async def idle_session_bytes(bench: Bench, tokens: Sequence[str]) -> tuple[float, dict[str, float]]:
    """Bytes held per chat left open and queued, in all and by the module that allocated them.

    The chats are opened one after another: opened all at once, asyncio's registry of live
    tasks grows to hold twice as many tasks as chats and never shrinks, about 200 bytes a
    chat that belong to the harness's high-water mark, not to any chat.
    """
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        start = tracemalloc.take_snapshot()
        org = Omnichannel(clock=VirtualClock(start=bench.start))
        widgets = [await open_chat(org, bench.work_stream, token) for token in tokens]
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
        growth = tracemalloc.take_snapshot().compare_to(start, "filename")
    finally:
        tracemalloc.stop()
    for widget in widgets:
        check(widget, SessionState.QUEUED)
    by_module = {
        str(Path(stat.traceback[0].filename).name): stat.size_diff / len(tokens)
        for stat in growth[:10]
    }
    return held / len(tokens), by_module


async def _decode(public_key: rsa.RSAPublicKey, token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, public_key, algorithms=["RS256"])
    return claims


async def bare_lifecycle(public_key: rsa.RSAPublicKey, token: str) -> dict[str, Any]:
    """The least an asyncio emulator must do for a chat: start a task that verifies the token."""
    return await asyncio.ensure_future(_decode(public_key, token))


async def bare_concurrent(bench: Bench, tokens: Sequence[str]) -> float:
    """Wall seconds for ``len(tokens)`` bare lifecycles run together on this loop."""
    started = time.perf_counter()
    claims = await asyncio.gather(*(bare_lifecycle(bench.public_key, t) for t in tokens))
    elapsed = time.perf_counter() - started
    if len({each["sub"] for each in claims}) != len(tokens):
        raise AssertionError("each bare lifecycle must have decoded its own token")
    return elapsed


class GcWatch:
    """Wall seconds the cyclic garbage collector ran, while in the ``with`` block."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = [0, 0, 0]
        self._started = 0.0

    def __enter__(self) -> GcWatch:
        gc.callbacks.append(self._observe)
        return self

    def __exit__(self, *_: object) -> None:
        gc.callbacks.remove(self._observe)

    def _observe(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started
            self.collections[info["generation"]] += 1


async def sixty_virtual_seconds(bench: Bench, token: str) -> float:
    """A chat that waits out 60 s of provider timeouts and pauses; returns virtual seconds.

    A provider that never answers (10 s, code 3), then one that answers at exactly
    the 10 s limit, an agent who takes 15 s to accept, 15 s of conversation and
    a customer who closes 10 s later.
    """
    clock = VirtualClock(start=bench.start)
    org = Omnichannel(clock=clock)
    widget = org.widget(bench.work_stream)
    widget.on("lcw:ready", lambda: widget.sdk.setAuthTokenProvider(never_answering()))
    await widget.load()
    try:
        await widget.sdk.startChat()
    except LcwError as error:
        assert error.code == 3, error
    else:
        raise AssertionError("a provider that never answers must time out")
    widget.sdk.setAuthTokenProvider(delayed(token, 10, clock=clock))
    session = await widget.sdk.startChat()
    await clock.sleep(15)
    session.accept("Alex")
    session.agent_says("Hello! How can I help?")
    await clock.sleep(15)
    widget.send_message("Thanks, that was all.")
    await clock.sleep(10)
    await widget.sdk.closeChat()
    check(widget, SessionState.CLOSED)
    return clock.now() - bench.start


# -- the run --------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    """How much to measure."""

    runs: int  # runs of floor-then-lifecycle; the ratio is their median
    per_run: int  # decodes and lifecycles timed in each run
    concurrency: tuple[int, ...]  # N for the concurrent lifecycles
    repeats: int  # runs per N (fresh tokens each time); the median is kept
    memory_sessions: int  # idle chats held for the memory figure
    virtual_runs: int  # runs of the 60 s virtual scenario; the median is kept


FULL = Sizes(
    runs=7,
    per_run=1000,
    concurrency=(100, 1_000, 10_000),
    repeats=3,
    memory_sessions=10_000,
    virtual_runs=7,
)
QUICK = Sizes(
    runs=3, per_run=10, concurrency=(5, 20), repeats=1, memory_sessions=10, virtual_runs=3
)


def machine() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor() or "unknown"
    return {
        "nproc": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "pyjwt": version("PyJWT"),
        "cryptography": version("cryptography"),
        "pyee": version("pyee"),
        # When the cyclic collector runs (CPython's gen0/gen1/gen2 thresholds), which decides
        # the figures at N = 10,000 more than anything in this package does.
        "gc_thresholds": list(gc.get_threshold()),
    }


def measure(sizes: Sizes, bench: Bench | None = None) -> dict[str, Any]:
    """Take every measurement in this process; return the numbers and the verdicts."""
    bench = bench or load_bench()
    token = bench.mint(0)
    hs_token = mint_token(bench.payload(0), HS256_SECRET, algorithm="HS256")
    signing_input, _, encoded_signature = token.rpartition(".")
    signature = jwt.utils.base64url_decode(encoded_signature)

    def decode_rs256() -> object:
        return jwt.decode(token, bench.public_key, algorithms=["RS256"])

    def decode_hs256() -> object:
        return jwt.decode(hs_token, HS256_SECRET, algorithms=["HS256"])

    def verify_only() -> None:
        bench.public_key.verify(
            signature, signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256()
        )

    serial = 1
    with asyncio.Runner() as runner:
        # Warm up imports, caches and the loop before anything counts.
        per_call(decode_rs256, 10)
        runner.run(sequential_lifecycles(bench, token, 10))

        runs: list[dict[str, float]] = []
        for _ in range(sizes.runs):
            gc.collect()
            run = {
                "rs256_decode": per_call(decode_rs256, sizes.per_run),
                "hs256_decode": per_call(decode_hs256, sizes.per_run),
                "rsa_verify_only": per_call(verify_only, sizes.per_run),
            }
            gc.collect()
            run["lifecycle"] = runner.run(sequential_lifecycles(bench, token, sizes.per_run))
            run["ratio"] = run["lifecycle"] / run["rs256_decode"]
            runs.append(run)

        concurrent: list[dict[str, Any]] = []
        for count in sizes.concurrency:
            timed: dict[str, list[tuple[float, GcWatch]]] = {"emulator": [], "bare": []}
            for _ in range(sizes.repeats):
                tokens = bench.mint_many(count, serial)
                serial += count
                # PyJWT remembers nothing, so the bare run may decode the same tokens again.
                for name, workload in (
                    ("emulator", concurrent_lifecycles),
                    ("bare", bare_concurrent),
                ):
                    gc.collect()
                    with GcWatch() as watch:
                        wall = runner.run(workload(bench, tokens))
                    timed[name].append((wall, watch))
            entry = _concurrent_entry(count, timed["emulator"])
            entry["bare"] = _concurrent_entry(count, timed["bare"])
            concurrent.append(entry)

        tokens = bench.mint_many(sizes.memory_sessions, serial)
        serial += sizes.memory_sessions
        bytes_per_session, bytes_by_module = runner.run(idle_session_bytes(bench, tokens))

        virtual_walls = []
        for _ in range(sizes.virtual_runs):
            started = time.perf_counter()
            virtual = runner.run(sixty_virtual_seconds(bench, token))
            virtual_walls.append(time.perf_counter() - started)
            if virtual != VIRTUAL_SECONDS:
                raise AssertionError(f"the scenario held {virtual} virtual seconds, not 60")

    def median_of(name: str) -> float:
        return statistics.median(run[name] for run in runs)

    ratios = [run["ratio"] for run in runs]
    largest, smallest = concurrent[-1], concurrent[0]
    growth = largest["seconds_per_lifecycle"] / smallest["seconds_per_lifecycle"]

    def without_collector(entry: dict[str, Any]) -> float:
        return float(entry["seconds_per_lifecycle"] - entry["gc_seconds_per_lifecycle"])

    # Diagnostics, not targets: the same ratio less the time the cyclic collector ran, and
    # the same ratio for the bare lifecycles.
    growth_without_collector = without_collector(largest) / without_collector(smallest)
    bare_growth = (
        largest["bare"]["seconds_per_lifecycle"] / smallest["bare"]["seconds_per_lifecycle"]
    )
    virtual_wall = statistics.median(virtual_walls)
    results: dict[str, Any] = {
        "machine": machine(),
        "sizes": sizes.__dict__ | {"concurrency": list(sizes.concurrency)},
        "floor": {
            "rs256_decode_seconds": median_of("rs256_decode"),
            "hs256_decode_seconds": median_of("hs256_decode"),
            "rsa_verify_only_seconds": median_of("rsa_verify_only"),
        },
        "lifecycle_seconds": median_of("lifecycle"),
        "ratio": {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios)},
        "runs": runs,
        "concurrent": concurrent,
        "growth": growth,
        "growth_without_collector": growth_without_collector,
        "bare_growth": bare_growth,
        "idle_session_bytes": bytes_per_session,
        "idle_session_bytes_by_module": bytes_by_module,
        "virtual": {
            "virtual_seconds": VIRTUAL_SECONDS,
            "wall_seconds": virtual_wall,
            "walls": virtual_walls,
        },
    }
    results["targets"] = {
        "ratio": _target(statistics.median(ratios), "<=", TARGET_RATIO),
        "lifecycles_per_second": _target(largest["lifecycles_per_second"], ">=", TARGET_PER_SECOND)
        | {"n": largest["n"]},
        "idle_session_bytes": _target(bytes_per_session, "<", TARGET_BYTES_PER_SESSION),
        "virtual_wall_seconds": _target(virtual_wall, "<", TARGET_VIRTUAL_WALL),
        "growth": _target(growth, "<=", TARGET_GROWTH),
    }
    return results


def _concurrent_entry(count: int, timed: Sequence[tuple[float, GcWatch]]) -> dict[str, Any]:
    """The median of one N's runs, with what the collector did in that run."""
    walls = [wall for wall, _ in timed]
    wall, watch = sorted(timed, key=lambda run: run[0])[(len(timed) - 1) // 2]
    return {
        "n": count,
        "wall_seconds": wall,
        "walls": walls,
        "seconds_per_lifecycle": wall / count,
        "lifecycles_per_second": count / wall,
        "gc_seconds_per_lifecycle": watch.seconds / count,
        "gc_collections_by_generation": watch.collections,
    }


def _target(value: float, relation: str, limit: float) -> dict[str, Any]:
    met = (
        value <= limit if relation == "<=" else value < limit if relation == "<" else value >= limit
    )
    return {"value": value, "target": f"{relation} {limit:g}", "met": met}


# -- the report -------------------------------------------------------------------


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f} µs"


def _met(results: dict[str, Any], name: str) -> str:
    return "yes" if results["targets"][name]["met"] else "**no**"


def table(results: dict[str, Any]) -> str:
    """The results as a Markdown table, with the machine underneath."""
    floor = results["floor"]
    ratio = results["ratio"]
    runs = len(results["runs"])
    rows = [
        ("bare RS256 `jwt.decode` (the floor)", _us(floor["rs256_decode_seconds"]), "", ""),
        ("bare HS256 `jwt.decode`", _us(floor["hs256_decode_seconds"]), "", ""),
        ("of the floor: RSA verify alone", _us(floor["rsa_verify_only_seconds"]), "", ""),
        ("one lifecycle, same token", _us(results["lifecycle_seconds"]), "", ""),
        (
            f"lifecycle / RS256 floor (median of {runs}; min-max)",
            f"{ratio['median']:.2f} ({ratio['min']:.2f}-{ratio['max']:.2f})",
            f"<= {TARGET_RATIO}",
            _met(results, "ratio"),
        ),
    ]
    largest, smallest = results["concurrent"][-1], results["concurrent"][0]
    largest_n, smallest_n = largest["n"], smallest["n"]
    for entry in results["concurrent"]:
        is_target = entry["n"] == largest_n
        rows.append(
            (
                f"N = {entry['n']:,} concurrent: per lifecycle (of which cyclic GC), per second",
                _concurrent_cell(entry),
                f">= {TARGET_PER_SECOND:,}/s" if is_target else "",
                _met(results, "lifecycles_per_second") if is_target else "",
            )
        )
    rows += [
        (
            f"per-lifecycle cost, N = {largest_n:,} / N = {smallest_n:,}",
            f"{results['growth']:.2f}",
            f"<= {TARGET_GROWTH}",
            _met(results, "growth"),
        ),
        (
            "the same, less the time the cyclic GC ran (diagnostic)",
            f"{results['growth_without_collector']:.2f}",
            "",
            "",
        ),
        (
            f"N = {largest_n:,} bare: a task running `jwt.decode` each (diagnostic)",
            _concurrent_cell(largest["bare"]),
            "",
            "",
        ),
        (
            f"the bare lifecycle's cost, N = {largest_n:,} / N = {smallest_n:,} (diagnostic)",
            f"{results['bare_growth']:.2f}",
            "",
            "",
        ),
        (
            "memory per idle (queued) chat",
            f"{results['idle_session_bytes'] / 1024:.2f} KB",
            f"< {TARGET_BYTES_PER_SESSION // 1024} KB",
            _met(results, "idle_session_bytes"),
        ),
        (
            f"60 s of virtual timeouts, wall (median of {len(results['virtual']['walls'])})",
            f"{results['virtual']['wall_seconds'] * 1e3:.2f} ms",
            f"< {TARGET_VIRTUAL_WALL * 1e3:g} ms",
            _met(results, "virtual_wall_seconds"),
        ),
    ]
    lines = ["| measure | value | target | met |", "|---|---:|---|---|"]
    lines += [f"| {name} | {value} | {target} | {met} |" for name, value, target, met in rows]
    info = results["machine"]
    lines.append("")
    lines.append(
        f"Machine: nproc {info['nproc']}, {info['cpu']}, {info['implementation']} "
        f"{info['python']} on {info['platform']}; PyJWT {info['pyjwt']}, "
        f"cryptography {info['cryptography']}, pyee {info['pyee']}; "
        f"GC thresholds {'/'.join(map(str, info['gc_thresholds']))}."
    )
    return "\n".join(lines)


def _concurrent_cell(entry: dict[str, Any]) -> str:
    return (
        f"{_us(entry['seconds_per_lifecycle'])} ({_us(entry['gc_seconds_per_lifecycle'])}), "
        f"{entry['lifecycles_per_second']:,.0f}/s"
    )


def profile(number: int, *, top: int = 30) -> str:
    """cProfile ``number`` sequential lifecycles; the functions by own time, then by total."""
    bench = load_bench()
    token = bench.mint(0)
    profiler = cProfile.Profile()
    with asyncio.Runner() as runner:
        runner.run(sequential_lifecycles(bench, token, 10))
        profiler.enable()
        runner.run(sequential_lifecycles(bench, token, number))
        profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes: check the harness runs")
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        help=f"where to write the numbers (default {DEFAULT_JSON.relative_to(ROOT)}; "
        "--quick writes none unless asked)",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--profile",
        type=int,
        metavar="N",
        help="instead: cProfile N sequential lifecycles and print the costliest functions",
    )
    args = parser.parse_args(argv)
    if args.profile:
        print(profile(args.profile))
        return 0
    results = measure(QUICK if args.quick else FULL)
    print(table(results))
    destination = args.json if args.json is not None else (None if args.quick else DEFAULT_JSON)
    if destination is not None:
        destination.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"\nwritten to {destination}")
    missed = [name for name, target in results["targets"].items() if not target["met"]]
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
