"""The virtual clock: manual advance, auto-jump, timeouts, holds."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import math
import time
import weakref
from decimal import Decimal

import pytest

from lcw_emulator import RealClock, VirtualClock
from lcw_emulator.clock import (
    ClockLimitError,
    describe_instant,
    describe_offset,
    describe_seconds,
    epoch_seconds,
)


def test_starts_where_told_and_advances_by_hand() -> None:
    clock = VirtualClock(start=1542622100, auto_jump=False)
    assert clock.now() == 1542622100
    fired: list[float] = []
    clock.call_later(5, lambda: fired.append(clock.now()))
    clock.call_later(2, lambda: fired.append(clock.now()))
    assert clock.advance(3) == 1
    assert fired == [1542622102]
    assert clock.now() == 1542622103
    clock.advance(10)
    assert fired == [1542622102, 1542622105]
    assert clock.now() == 1542622113


def test_time_cannot_go_backwards() -> None:
    with pytest.raises(ValueError, match="backwards"):
        VirtualClock().advance(-1)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_time_is_always_a_finite_number(bad: float) -> None:
    # NaN compares false with everything: a NaN now would pass every token's exp check.
    with pytest.raises(ValueError, match="finite number of seconds"):
        VirtualClock(start=bad)
    with pytest.raises(ValueError, match="finite number of seconds"):
        RealClock(start=bad)
    clock = VirtualClock(start=100, auto_jump=False)
    with pytest.raises(ValueError, match="finite number of seconds"):
        clock.advance(bad)
    with pytest.raises(ValueError, match="finite number of seconds"):
        clock.call_at(bad, lambda: None)
    assert clock.now() == 100 and clock.pending == 0


async def test_two_clocks_on_one_loop_both_jump() -> None:
    # Two emulators in one test each have their own clock; neither driver is work to the other.
    first, second = VirtualClock(start=0), VirtualClock(start=1000)
    started = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(first.sleep(5), second.sleep(7), first.sleep(9)), 5)
    assert time.perf_counter() - started < 1.0
    assert (first.now(), second.now()) == (9, 1007)


@pytest.mark.parametrize("auto_jump", [False, True])
async def test_an_answer_at_the_deadline_wins_when_time_is_moved_by_hand(auto_jump: bool) -> None:
    # Inclusive, as with auto-jump: advance() has no driver, so the answer due at the same
    # instant still runs before the deadline is judged, whether or not auto-jump is on.
    clock = VirtualClock(start=0, auto_jump=auto_jump)

    async def answers_at_10() -> str:
        await clock.sleep(10)
        return "token"

    waiting = asyncio.ensure_future(clock.wait_for(answers_at_10(), 10))
    for _ in range(3):  # the wait and the answering task both under way
        await asyncio.sleep(0)
    clock.advance(10)
    assert await waiting == "token"
    never = asyncio.ensure_future(clock.wait_for(asyncio.Event().wait(), 5))
    await asyncio.sleep(0)
    clock.advance(5)
    await clock.settle()  # settle waits for the deadline judged at this instant
    assert never.done()
    with pytest.raises(TimeoutError):
        await never


@pytest.mark.parametrize("auto_jump", [False, True])
@pytest.mark.parametrize("steps", [(20,), (10, 0.001), (5, 15)])
async def test_an_answer_after_the_deadline_loses_when_time_is_moved_past_both_by_hand(
    auto_jump: bool, steps: tuple[float, ...]
) -> None:
    # One advance() over the deadline and a later answer: the answer must not win because
    # its timer fired in the same step. The timers after the deadline fire once it is judged.
    clock = VirtualClock(start=0, auto_jump=auto_jump)
    fired: list[float] = []

    async def answers_at_15() -> str:
        await clock.sleep(15)
        fired.append(clock.now())
        return "late token"

    waiting = asyncio.ensure_future(clock.wait_for(answers_at_15(), 10))
    clock.call_at(12, lambda: fired.append(12))
    for _ in range(3):
        await asyncio.sleep(0)
    for seconds in steps:
        clock.advance(seconds)
    with pytest.raises(TimeoutError):
        await waiting
    await clock.settle()
    assert clock.now() == sum(steps)
    # What was due by then still fired, in order (the answer's task was cancelled with it).
    assert fired == ([12] if sum(steps) >= 12 else [])


async def test_a_wait_refused_at_the_clocks_end_gives_up_what_it_was_given() -> None:
    clock = VirtualClock(start=100_000_000_000 - 5)
    answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    with pytest.raises(ClockLimitError, match="cannot move to 100000000005: "):
        await clock.wait_for(answer, 10)
    assert answer.cancelled()  # an exception set on it later is nobody's to retrieve


@pytest.mark.parametrize("auto_jump", [False, True])
async def test_deadlines_at_one_instant_are_judged_together_under_advance(auto_jump: bool) -> None:
    # One answer in time at the shared deadline, one after it: each gets its own verdict.
    clock = VirtualClock(start=0, auto_jump=auto_jump)

    async def answers_at(seconds: float) -> float:
        await clock.sleep(seconds)
        return seconds

    in_time = asyncio.ensure_future(clock.wait_for(answers_at(5), 5))
    late = asyncio.ensure_future(clock.wait_for(answers_at(15), 5))
    for _ in range(2):
        await asyncio.sleep(0)
    clock.advance(20)
    await clock.settle()
    assert await in_time == 5
    with pytest.raises(TimeoutError):
        await late


async def test_a_held_advance_stops_the_clock_at_the_deadline_until_it_is_judged() -> None:
    clock = VirtualClock(start=0, auto_jump=False)
    seen: list[float] = []
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    waiting = asyncio.ensure_future(clock.wait_for(never, 10))
    clock.call_later(15.5, lambda: seen.append(clock.now()))
    await asyncio.sleep(0)
    assert clock.advance(20) == 1  # the deadline: the rest waits for its verdict
    assert clock.now() == 10 and clock.pending == 1
    assert clock.advance(5) == 0  # from where the held advance goes: 25 in all
    await clock.settle()
    assert (clock.now(), seen) == (25, [15.5])  # each timer sees its own instant
    with pytest.raises(TimeoutError):
        await waiting


def boom() -> None:
    raise RuntimeError("boom")


async def held_past_a_failing_timer(clock: VirtualClock) -> asyncio.Future[None]:
    """A wait whose deadline (10) holds an advance(20) that then fires a timer raising (15)."""
    waiting = asyncio.ensure_future(clock.wait_for(asyncio.Event().wait(), 10))
    clock.call_later(15, boom)
    await asyncio.sleep(0)
    clock.advance(20)
    return waiting


async def test_a_timer_failing_in_a_held_advance_is_raised_by_settle() -> None:
    clock = VirtualClock(start=0, auto_jump=False)
    waiting = await held_past_a_failing_timer(clock)
    with pytest.raises(RuntimeError, match="boom"):
        await clock.settle()
    await clock.settle()  # raised once
    with pytest.raises(TimeoutError):
        await waiting


def test_a_held_advance_whose_loop_went_away_holds_nothing_on_the_next() -> None:
    # asyncio.run cancels what is left at its end, the held advance too: the clock must not
    # stay held for the next loop (a shared org's clock in the next test).
    clock = VirtualClock(start=0, auto_jump=False)

    left: list[asyncio.Future[None]] = []

    async def held() -> None:
        never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        left.append(asyncio.ensure_future(clock.wait_for(never, 10)))
        await asyncio.sleep(0)
        clock.advance(20)

    asyncio.run(held())
    fired: list[float] = []

    async def later() -> None:
        clock.call_later(1, lambda: fired.append(clock.now()))
        clock.advance(5)
        await clock.settle()
        assert fired and clock.pending == 0
        clock.auto_jump = True
        await asyncio.wait_for(clock.sleep(1), 2)  # auto-jump is not held either
        clock.auto_jump = False

    asyncio.run(later())
    loop = asyncio.new_event_loop()
    loop.run_until_complete(held())
    loop.close()  # closed with the advance held, and never cancelled
    clock.cancel_pending()
    clock.auto_jump = True
    asyncio.run(asyncio.wait_for(clock.sleep(1), 2))


@pytest.mark.parametrize("steps", [(20,), (10,), (8, 12)])
async def test_an_answer_in_two_hops_before_the_limit_wins_under_advance(
    steps: tuple[float, ...],
) -> None:
    # Woken at 7, it arms its last 2 s then: due at 9, in time, as under auto-jump.
    clock = VirtualClock(start=0, auto_jump=False)

    async def two_hops() -> float:
        await clock.sleep(7)
        await clock.sleep(2)
        return clock.now()

    waiting = asyncio.ensure_future(clock.wait_for(two_hops(), 10))
    for _ in range(2):
        await asyncio.sleep(0)
    for seconds in steps:
        clock.advance(seconds)
    await clock.settle()
    assert await waiting == 9


@pytest.mark.parametrize("turns", [1, 2, 3])
async def test_an_advance_lets_the_tasks_ready_now_run_before_time_moves(turns: int) -> None:
    # One turn after wait_for, its deadline is armed but the answer's task has not taken its
    # first step; in real time it would arm its 5 s at once, not from the deadline at 10.
    clock = VirtualClock(start=0, auto_jump=False)

    async def answer_at_5() -> float:
        await clock.sleep(5)
        return clock.now()

    waiting = asyncio.ensure_future(clock.wait_for(answer_at_5(), 10))
    for _ in range(turns):
        await asyncio.sleep(0)
    clock.advance(20)
    await clock.settle()
    assert await waiting == 5
    assert clock.now() == 20


async def _stepped_to_an_answer(clock: VirtualClock, due: float) -> tuple[float, int]:
    """``advance(1)`` and a bare turn, until an answer due at ``due`` (limit 10) is in."""

    async def answer() -> float:
        await clock.sleep(due)
        return clock.now()

    waiting = asyncio.ensure_future(clock.wait_for(answer(), 10))
    await asyncio.sleep(0)
    turns = 0
    while not waiting.done() and turns < 100:
        clock.advance(1)
        await asyncio.sleep(0)
        turns += 1
    return await waiting, turns


async def test_a_test_stepping_time_with_advance_and_a_turn_is_not_held_up() -> None:
    # The stepping task's own turns are no work for a held advance to wait out: if they
    # were, the loop would never be idle, and time would never move.
    clock = VirtualClock(start=0, auto_jump=False)
    answered, turns = await _stepped_to_an_answer(clock, 5)
    assert answered == 5 and turns < 10, (turns, clock.now())
    steps = 0
    while clock.now() < 8 and steps < 100:
        clock.advance(1)
        await asyncio.sleep(0)
        steps += 1
    assert clock.now() >= 8 and steps < 10
    await clock.settle()
    assert clock.now() == turns + steps  # every second asked for, none more


async def _woken_at_3_by(how: str, clock: VirtualClock) -> None:
    loop = asyncio.get_running_loop()
    if how == "sleep":
        await clock.sleep(3)
    elif how == "task":
        await asyncio.ensure_future(clock.sleep(3))
    elif how == "event":
        event = asyncio.Event()
        clock.call_at(3, event.set)
        await event.wait()
    elif how == "future":
        future: asyncio.Future[None] = loop.create_future()
        clock.call_at(3, lambda: future.set_result(None))
        await future
    else:  # a wait that ends with its answer
        await clock.wait_for(clock.sleep(3), 100)


@pytest.mark.parametrize("how", ["sleep", "task", "event", "future", "wait_for"])
async def test_the_task_that_moved_time_is_waited_for_again_once_something_wakes_it(
    how: str,
) -> None:
    # Its bare turns are not waited out; but woken at 3, by a timer of the advance or by
    # anything it awaited, what it does there is work of that instant, and the deadline at 4
    # must wait for it.
    clock = VirtualClock(start=0, auto_jump=False)
    answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    waiting = asyncio.ensure_future(clock.wait_for(answer, 4))
    await asyncio.sleep(0)
    ready = asyncio.ensure_future(asyncio.sleep(0))  # a task ready now: the advance is held
    clock.advance(10)
    await _woken_at_3_by(how, clock)
    for _ in range(10):  # a few turns of work at instant 3
        await asyncio.sleep(0)
    assert clock.now() == 3
    answer.set_result("in time")
    await clock.settle()
    assert await waiting == "in time"
    assert clock.now() == 10 and ready.done()


def test_a_test_on_pure_python_tasks_steps_time_too() -> None:
    # asyncio's pure-Python Task is no asyncio.Task subclass; the clock must know it anyway.
    async def stepping() -> tuple[float, int]:
        asyncio.get_running_loop().set_task_factory(
            lambda loop, coro, **kwargs: asyncio.tasks._PyTask(coro, loop=loop, **kwargs)  # type: ignore[attr-defined]
        )
        return await _stepped_to_an_answer(VirtualClock(start=0, auto_jump=False), 3)

    answered, turns = asyncio.run(stepping())
    assert answered == 3 and turns < 10


async def test_an_advance_from_a_task_at_a_deadline_lets_the_answer_due_then_win() -> None:
    # Auto-jump re-arms the judgement at the deadline's instant; an advance() fired from a
    # task woken at that instant must not judge before the answer due then has run.
    clock = VirtualClock(start=0)

    async def answer() -> str:
        await clock.sleep(10)
        return "token"

    async def test_body() -> None:
        await clock.sleep(10)
        clock.advance(5)

    body = asyncio.ensure_future(test_body())
    await asyncio.sleep(0)
    waiting = asyncio.ensure_future(clock.wait_for(answer(), 10))
    await body
    await clock.settle()
    assert await waiting == "token"


async def test_timers_at_one_instant_survive_one_of_them_raising() -> None:
    clock = VirtualClock(start=0, auto_jump=False)
    marks: list[float] = []
    clock.call_later(15, boom)
    clock.call_later(15, lambda: marks.append(clock.now()))
    with pytest.raises(RuntimeError, match="boom"):
        clock.advance(20)
    assert clock.pending == 1
    clock.advance(0)
    assert marks == [15]


async def test_cancel_pending_forgets_a_held_failure_and_spares_finished_waits() -> None:
    clock = VirtualClock(start=0, auto_jump=False)
    waiting = await held_past_a_failing_timer(clock)
    await asyncio.sleep(0.01)  # real time: the held advance ran, and failed; no settle
    with pytest.raises(TimeoutError):
        await waiting
    assert clock.cancel_pending() == 0  # the finished wait is not cancelled, nor counted
    clock.call_later(1, lambda: None)
    clock.advance(2)
    await clock.settle()  # the earlier test's failure is not raised here


def test_an_advance_held_on_another_loop_does_not_hold_this_one() -> None:
    clock = VirtualClock(start=0, auto_jump=False)
    other = asyncio.new_event_loop()
    left: list[asyncio.Future[None]] = []

    async def held() -> None:
        left.append(asyncio.ensure_future(clock.wait_for(asyncio.Event().wait(), 10)))
        await asyncio.sleep(0)
        clock.advance(20)

    try:
        other.run_until_complete(held())  # left open, as an emulator's runner is
        asyncio.run(asyncio.wait_for(clock.settle(), 2))  # no spin on this loop
    finally:
        clock.cancel_pending()
        other.run_until_complete(asyncio.sleep(0))
        other.close()


def test_a_deadline_pending_on_another_loop_does_not_stop_an_advance_here() -> None:
    clock = VirtualClock(start=0, auto_jump=False)
    marks: list[float] = []
    left: list[asyncio.Future[None]] = []

    async def leave_a_wait() -> None:
        left.append(asyncio.ensure_future(clock.wait_for(asyncio.Event().wait(), 100)))
        await asyncio.sleep(0)

    async def here() -> None:
        clock.call_later(1, lambda: marks.append(clock.now()))
        clock.call_later(2, lambda: marks.append(clock.now()))
        clock.advance(5)
        await clock.settle()

    for close_it in (False, True):
        other = asyncio.new_event_loop()
        other.run_until_complete(leave_a_wait())
        if close_it:
            other.close()
        asyncio.run(here())
        assert marks[-2:] == [clock.now() - 4, clock.now() - 3], marks
        clock.cancel_pending()
        if not close_it:
            other.run_until_complete(asyncio.sleep(0))
            other.close()


async def test_an_advance_from_a_task_a_holding_task_waits_on_does_not_deadlock() -> None:
    # hold() keeps auto-jump from jumping; an advance() moves time when its caller says, even
    # when the task that holds waits on the one that moves it (wait_for runs it as a task).
    clock = VirtualClock(start=0, auto_jump=False)
    late = asyncio.ensure_future(clock.wait_for(clock.sleep(15), 10))
    await clock.settle()

    async def drive() -> None:
        clock.advance(20)
        await clock.settle()

    with clock.hold():
        await asyncio.wait_for(drive(), 2)
    assert clock.now() == 20
    with pytest.raises(TimeoutError):
        await late


async def test_settle_inside_a_hold_returns_with_an_advance_held_at_a_deadline() -> None:
    # hold() keeps auto-jump from jumping; an advance() moves time when its caller says, and
    # settle() inside the caller's own hold must not wait on it.
    clock = VirtualClock(start=0, auto_jump=False)
    waiting = asyncio.ensure_future(clock.wait_for(clock.sleep(5), 10))
    for _ in range(3):
        await asyncio.sleep(0)
    with clock.hold():
        clock.advance(20)
        await asyncio.wait_for(clock.settle(), 2)
        assert clock.now() == 20
        assert await asyncio.wait_for(waiting, 2) is None  # awaited inside the hold too


def test_a_deadline_reached_on_a_closed_loop_does_not_stop_an_advance() -> None:
    clock = VirtualClock(start=0, auto_jump=False)
    marks: list[float] = []
    gone = asyncio.new_event_loop()
    left = [gone.create_task(clock.wait_for(asyncio.Event().wait(), 10))]
    gone.run_until_complete(asyncio.sleep(0))
    gone.close()
    clock.call_later(15, lambda: marks.append(clock.now()))
    clock.advance(20)  # its deadline at 10 is dropped: nothing of it can run
    assert (clock.now(), marks, len(left)) == (20, [15], 1)


def test_a_late_answer_on_a_loop_that_is_not_running_loses_when_it_runs() -> None:
    # Another loop moves the clock past the limit and on to the answer: judged then, as that
    # loop cannot wait for this one, so the answer after the limit loses.
    clock = VirtualClock(start=0, auto_jump=False)
    there = asyncio.new_event_loop()

    async def late() -> str:
        await clock.sleep(15)
        return "late"

    try:
        waiting = there.create_task(clock.wait_for(late(), 10))
        there.run_until_complete(asyncio.sleep(0))

        async def here() -> None:
            clock.advance(20)
            await clock.settle()

        asyncio.run(here())
        there.run_until_complete(asyncio.wait([waiting], timeout=2))
        assert isinstance(waiting.exception(), TimeoutError)
    finally:
        there.close()


def test_a_shared_clock_keeps_no_closed_loop_alive() -> None:
    clock = VirtualClock(start=0)
    gone: list[weakref.ref[asyncio.AbstractEventLoop]] = []

    async def one_wait() -> None:
        gone.append(weakref.ref(asyncio.get_running_loop()))
        with contextlib.suppress(TimeoutError):
            await clock.wait_for(asyncio.Event().wait(), 10)  # times out under auto-jump

    for _ in range(3):
        asyncio.run(one_wait())
    gc.collect()
    assert [ref() for ref in gone] == [None, None, None]


def test_a_timer_that_advances_the_clock_never_moves_it_back() -> None:
    clock = VirtualClock(start=0, auto_jump=False)
    clock.call_later(30, lambda: clock.advance(60))
    clock.advance(31)
    assert clock.now() == 90


def test_cancelled_timers_do_not_pile_up_behind_a_live_one() -> None:
    clock = VirtualClock(start=0, auto_jump=False)
    clock.call_later(3600, lambda: None)  # a live timer far ahead keeps the heap's front
    for _ in range(10_000):
        clock.call_later(10, lambda: None).cancel()
    assert clock.pending == 1
    assert len(clock._heap) < 1_000  # swept as it grows, not kept one per cancelled timer


def test_cancelled_timers_do_not_fire() -> None:
    clock = VirtualClock(auto_jump=False)
    fired: list[str] = []
    timer = clock.call_later(1, lambda: fired.append("no"))
    timer.cancel()
    assert clock.pending == 0
    clock.advance(2)
    assert fired == []


async def test_auto_jump_sleeps_cost_no_wall_time() -> None:
    clock = VirtualClock(start=0)
    started = time.perf_counter()
    await clock.sleep(3600)
    assert clock.now() == 3600
    assert time.perf_counter() - started < 0.05


async def test_auto_jump_wakes_sleepers_in_deadline_order() -> None:
    clock = VirtualClock(start=0)
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.now()))

    await asyncio.gather(sleeper("late", 30), sleeper("early", 10), sleeper("middle", 20))
    assert woke == [("early", 10), ("middle", 20), ("late", 30)]


async def test_auto_jump_does_not_jump_while_tasks_can_run() -> None:
    clock = VirtualClock(start=0)
    seen: list[float] = []

    async def busy() -> None:
        for _ in range(50):
            seen.append(clock.now())
            await asyncio.sleep(0)

    await asyncio.gather(busy(), clock.sleep(5))
    assert seen == [0] * 50
    assert clock.now() == 5


async def test_wait_for_times_out_on_virtual_time() -> None:
    clock = VirtualClock(start=100)
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    started = time.perf_counter()
    with pytest.raises(TimeoutError):
        await clock.wait_for(never, 10)
    assert clock.now() == 110
    assert time.perf_counter() - started < 0.05
    assert never.cancelled()


async def test_wait_for_returns_the_answer_in_time() -> None:
    clock = VirtualClock(start=0)

    async def answer() -> str:
        await clock.sleep(9.5)
        return "token"

    assert await clock.wait_for(answer(), 10) == "token"
    assert clock.now() == 9.5
    assert clock.pending == 0


async def test_wait_for_deadline_is_inclusive() -> None:
    clock = VirtualClock(start=0)

    async def answer_at_the_limit() -> str:
        await clock.sleep(10)
        return "just in time"

    assert await clock.wait_for(answer_at_the_limit(), 10) == "just in time"
    assert clock.now() == 10


async def test_wait_for_a_cancel_on_the_deadline_turn_stays_a_cancel() -> None:
    # The caller gives up at exactly the limit, on the turn the deadline fires: that is the
    # caller's cancellation, not a timeout (asyncio.wait_for in 3.11 loses it).
    clock = VirtualClock(start=0)
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    waiter = asyncio.ensure_future(clock.wait_for(never, 5))
    await asyncio.sleep(0)
    clock.call_at(5, lambda: clock.call_at(5, waiter.cancel))
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert waiter.cancelled()


async def test_hold_stops_auto_jump_until_released() -> None:
    clock = VirtualClock(start=0)
    outside_work_done = asyncio.Event()

    async def outside_work() -> None:
        with clock.hold():
            # Real I/O would be invisible to the loop's ready queue; an event
            # set from a plain loop callback is the same to the clock.
            asyncio.get_running_loop().call_later(0.02, outside_work_done.set)
            await outside_work_done.wait()
            assert clock.now() == 0  # the 1 s sleeper did not fire meanwhile

    await asyncio.gather(outside_work(), clock.sleep(1))
    assert clock.now() == 1


async def test_manual_mode_waits_for_advance() -> None:
    clock = VirtualClock(start=0, auto_jump=False)
    task = asyncio.ensure_future(clock.sleep(5))
    await clock.settle()
    assert not task.done()
    clock.advance(5)
    await task
    assert clock.now() == 5


async def test_real_clock_reads_wall_time() -> None:
    clock = RealClock()
    assert abs(clock.now() - time.time()) < 1
    assert await clock.wait_for(asyncio.sleep(0, result="x"), 1) == "x"


def test_seconds_someone_gave_read_back_as_given_and_spans_to_the_microsecond() -> None:
    # :g rounds to six digits: a provider 10.00001 s late would be shown in time.
    assert [describe_seconds(x) for x in (10, 10.0, 10.00001, 125.2504, 1e12, 100000000100.0)] == [
        "10",
        "10",
        "10.00001",
        "125.2504",
        "1e+12",
        "100000000100",
    ]
    # A span is a difference of epoch seconds: float noise below a microsecond is not shown.
    assert describe_offset((1542622100 + 125.2504) - 1542622100) == "125.2504"
    assert [describe_offset(x) for x in (3.0, 0.0, -1e-9, 4.25)] == ["3", "0", "0", "4.25"]


def test_describe_instant_is_readable() -> None:
    assert describe_instant(1542625672) == "1542625672 (2018-11-19T11:07:52Z)"
    assert describe_instant(1.5) == "1.5 (1970-01-01T00:00:01Z)"


async def test_settle_returns_while_auto_jump_timers_are_pending() -> None:
    clock = VirtualClock(start=0)
    sleeper = asyncio.ensure_future(clock.sleep(5))
    await asyncio.wait_for(clock.settle(), 1)  # real-time guard: it must not spin forever
    assert clock.now() == 0 and not sleeper.done()
    await sleeper
    assert clock.now() == 5


def test_real_clock_with_a_start_moves_at_wall_speed_from_there() -> None:
    clock = RealClock(start=1542622100)
    first = clock.now()
    assert 1542622100 <= first < 1542622101
    time.sleep(0.01)
    assert clock.now() - first >= 0.01
    assert repr(clock) == "RealClock(start=1542622100)"


async def test_cancel_pending_cancels_what_waits_on_the_clock() -> None:
    clock = VirtualClock(start=100)
    answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    sleeper = asyncio.ensure_future(clock.sleep(30))
    waiter = asyncio.ensure_future(clock.wait_for(answer, 10))
    await asyncio.sleep(0)
    assert clock.pending == 2
    assert clock.cancel_pending() == 2
    assert clock.pending == 0
    # Cancelled, not timed out: nothing fires as though 10 s had passed.
    with pytest.raises(asyncio.CancelledError):
        await waiter
    with pytest.raises(asyncio.CancelledError):
        await sleeper
    assert answer.cancelled()
    assert clock.now() == 100
    assert [t for t in asyncio.all_tasks() if t.get_name() == "VirtualClock.auto_jump"] == []
    await clock.sleep(5)  # the clock goes on working
    assert clock.now() == 105


def test_cancel_pending_after_the_loop_closed_is_harmless() -> None:
    # A fixture's teardown may come after its test's event loop closed.
    clock = VirtualClock(start=0, auto_jump=False)
    loop = asyncio.new_event_loop()
    sleeper = loop.create_task(clock.sleep(30))
    loop.run_until_complete(asyncio.sleep(0))  # the sleep is armed on the clock
    loop.close()
    assert clock.cancel_pending() == 1
    assert clock.pending == 0
    assert not sleeper.done()  # its loop will never run it again


async def test_wait_for_without_a_limit_or_with_nan() -> None:
    clock = VirtualClock(start=0)
    answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    clock.call_later(3600, lambda: answer.set_result("late"))
    assert await clock.wait_for(answer, float("inf")) == "late"
    assert clock.now() == 3600

    started = False

    async def work() -> None:
        nonlocal started
        started = True

    with pytest.raises(ValueError, match="timeout must be a number of seconds, got nan"):
        await clock.wait_for(work(), float("nan"))
    assert not started


@pytest.mark.parametrize("auto_jump", [True, False])
async def test_cancel_pending_cancels_a_wait_whose_deadline_came_under_advance(
    auto_jump: bool,
) -> None:
    # Moved by hand, the clock arms the inclusive deadline as a task of its own.
    clock = VirtualClock(start=1000, auto_jump=auto_jump)
    never: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    waiter = asyncio.ensure_future(clock.wait_for(never, 5))
    await asyncio.sleep(0)
    clock.advance(5)
    clock.cancel_pending()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(waiter, 1)  # real seconds: a hang fails, it does not block


async def test_cancel_pending_at_a_deadline_s_own_instant_cancels_its_wait() -> None:
    clock = VirtualClock(start=0)
    never: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    waiter = asyncio.ensure_future(clock.wait_for(never, 5))
    await asyncio.sleep(0)
    # Runs just after the deadline fired and re-armed itself for this same instant.
    clock.call_at(5, clock.cancel_pending)
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(waiter, 1)


@pytest.mark.parametrize("clock_type", [VirtualClock, RealClock])
async def test_a_cancel_on_the_turn_the_answer_lands_still_cancels_the_wait(
    clock_type: type[VirtualClock] | type[RealClock],
) -> None:
    # asyncio.wait_for on 3.11 returned the answer here and dropped the cancellation.
    answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    waiter = asyncio.ensure_future(clock_type(start=100).wait_for(answer, 10))
    await asyncio.sleep(0)
    answer.set_result("token")
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter


async def test_real_clock_wait_for_times_out_cancels_and_takes_a_past_limit_as_zero() -> None:
    loop = asyncio.get_running_loop()
    never: asyncio.Future[str] = loop.create_future()
    with pytest.raises(TimeoutError):
        await RealClock().wait_for(never, 0.001)
    assert never.cancelled()
    answered: asyncio.Future[str] = loop.create_future()
    answered.set_result("now")
    assert await RealClock().wait_for(answered, -5) == "now"
    late: asyncio.Future[str] = loop.create_future()
    with pytest.raises(TimeoutError):
        await RealClock().wait_for(late, -5)
    assert late.cancelled()


async def test_real_clock_wait_for_refuses_nan_as_the_virtual_one_does() -> None:
    never: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    with pytest.raises(ValueError, match="timeout must be a number of seconds, got nan"):
        await RealClock().wait_for(never, float("nan"))


async def test_a_bad_delay_or_sleep_names_its_own_parameter() -> None:
    clock = VirtualClock(start=0)
    with pytest.raises(ValueError, match="delay must be a finite number of seconds, got nan"):
        clock.call_later(float("nan"), lambda: None)
    with pytest.raises(ValueError, match="seconds must be a finite number of seconds, got inf"):
        await clock.sleep(float("inf"))


async def test_what_is_no_callback_or_no_time_is_refused_when_given_and_time_moves_on() -> None:
    clock = VirtualClock(start=100)
    fired: list[float] = []
    clock.call_at(101.5, lambda: fired.append(clock.now()))
    with pytest.raises(TypeError, match="callback must be a function to call, got NoneType"):
        clock.call_later(1, None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="abort must be a function to call, got int 5"):
        clock.call_at(101, print, abort=5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="callback must be a function to call"):
        RealClock().call_later(1, "later")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="when must be a number of seconds, got str 'x'"):
        await clock.sleep_until("x")  # type: ignore[arg-type]
    for never in (float("-inf"), float("nan")):  # floats, past the fast path all the same
        with pytest.raises(ValueError, match="when must be a finite number of seconds"):
            await clock.sleep_until(never)
    for waiting in (clock, RealClock()):
        work = asyncio.sleep(0)
        with pytest.raises(TypeError, match="timeout must be a number of seconds, got str '5'"):
            await waiting.wait_for(work, "5")  # type: ignore[arg-type]
        assert work.cr_frame is None  # closed: no "never awaited" warning at collection
    # A refused timer armed nothing: time moves over every instant, and the good one fires.
    clock.advance(2)
    assert (clock.now(), fired) == (102, [101.5])


@pytest.mark.parametrize("clock_type", [VirtualClock, RealClock])
def test_a_start_in_milliseconds_is_refused_before_it_blames_a_token(
    clock_type: type[VirtualClock] | type[RealClock],
) -> None:
    # Date.now() where epoch seconds are meant: every good token would then look expired.
    with pytest.raises(ValueError, match=r"start 1796000000000 is past the year 5000 .*milli"):
        clock_type(start=1796000000000)
    assert clock_type(start=99_999_999_999).now() >= 99_999_999_999
    assert clock_type(start=-1796000000000).now() >= -1796000000000  # long ago, not millis


def test_waiting_outside_an_asyncio_loop_says_what_it_needs() -> None:
    # As under anyio's trio backend: no asyncio loop runs the coroutine.
    sleeping = VirtualClock(start=0).sleep(5)
    with pytest.raises(RuntimeError, match=r"^VirtualClock.sleep needs a running asyncio .*trio"):
        sleeping.send(None)
    settling = VirtualClock(start=0).settle()
    with pytest.raises(RuntimeError, match=r"^VirtualClock.settle needs a running asyncio"):
        settling.send(None)
    with pytest.raises(RuntimeError, match=r"^RealClock.call_later needs a running asyncio"):
        RealClock().call_later(1, lambda: None)


def test_an_instant_shows_one_second_in_both_its_forms() -> None:
    assert describe_instant(1542622100.9999) == "1542622101 (2018-11-19T10:08:21Z)"
    assert describe_instant(1542622100.25) == "1542622100.25 (2018-11-19T10:08:20Z)"


async def test_the_virtual_clock_goes_no_further_than_a_start_it_would_take() -> None:
    # Past it every token minted would read as milliseconds and be blamed for the clock.
    clock = VirtualClock(start=1_700_000_000)
    with pytest.raises(ValueError, match=r"cannot move to 1\.017e\+11: .* short of 100000000000"):
        clock.advance(1e11)
    with pytest.raises(ValueError, match="from which a moment reads as milliseconds"):
        await clock.sleep(1e11)
    with pytest.raises(ValueError, match=r"cannot move to 1e\+11"):
        clock.advance(100_000_000_000 - 1_700_000_000)  # the limit itself is not reached
    # Nor by a timer that auto-jump would fire, or a deadline.
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    with pytest.raises(ValueError, match="the clocks stop short of"):
        clock.call_later(1e11, lambda: None)
    with pytest.raises(ValueError, match="the clocks stop short of"):
        await clock.wait_for(never, 1e11)
    assert clock.now() == 1_700_000_000 and clock.pending == 0


async def test_a_deadline_given_as_any_number_keeps_the_clock_a_float() -> None:
    from decimal import Decimal

    clock = VirtualClock(start=0)
    await clock.sleep_until(Decimal("3"))  # type: ignore[arg-type]
    assert clock.now() == 3.0 and type(clock.now()) is float
    await clock.sleep(1)  # and the clock still does arithmetic
    assert clock.now() == 4.0


async def test_a_length_of_time_and_a_moment_are_each_taken_where_they_go() -> None:
    moment = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
    clock = RealClock(start=moment)
    assert abs(clock.now() - moment.timestamp()) < 5  # a datetime start, read as its seconds
    for where in (
        lambda: VirtualClock(start=dt.timedelta(days=1)),
        lambda: VirtualClock(start=0).call_at(dt.timedelta(hours=1), print),  # type: ignore[arg-type]
        lambda: epoch_seconds(dt.timedelta(hours=1)),  # type: ignore[arg-type]
    ):
        with pytest.raises(TypeError, match="is a moment: give epoch seconds or a datetime"):
            where()
    virtual = VirtualClock(start=0)
    assert await virtual.wait_for(asyncio.sleep(0, "in time"), dt.timedelta(seconds=5)) == (  # type: ignore[arg-type]
        "in time"
    )
    with pytest.raises(TimeoutError):
        await RealClock().wait_for(asyncio.sleep(1), dt.timedelta(milliseconds=1))  # type: ignore[arg-type]
    await RealClock().sleep(dt.timedelta(0))  # type: ignore[arg-type]
    await RealClock().sleep(Decimal("0.001"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="seconds must be a finite number of seconds"):
        await RealClock().sleep(math.nan)  # would never return
