"""The pytest plugin in a user's own test run: fixtures, the lcw marker, assertion messages."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from lcw_emulator import LcwError
from lcw_emulator.emulator import LcwEmulator
from lcw_emulator.token_providers import static_token

pytest_plugins = ["pytester"]

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
INI = """
[pytest]
asyncio_default_fixture_loop_scope = function
"""


def run(project: pytest.Pytester, *args: str) -> pytest.RunResult:
    # Hypothesis's plugin costs about a second per in-process run and plays no part here.
    # pytester loads every installed plugin itself: pytest-randomly, where a developer has
    # it, would shuffle these projects' tests, some of which build on the one before.
    return project.runpytest("-p", "no:hypothesispytest", "-p", "no:randomly", *args)


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A user's project with the Contoso work stream and its demo key next to the tests."""
    pytester.makeini(INI)
    shutil.copy(SCENARIOS / "contoso.toml", pytester.path / "contoso.toml")
    (pytester.path / "keys").mkdir()
    shutil.copy(SCENARIOS / "keys" / "public.pem", pytester.path / "keys" / "public.pem")
    shutil.copy(SCENARIOS / "keys" / "private.pem", pytester.path / "keys" / "private.pem")
    return pytester


def test_the_plugin_registers_its_marker(project: pytest.Pytester) -> None:
    markers = run(project, "--markers")
    markers.stdout.fnmatch_lines(["@pytest.mark.lcw(workstream=None, *, start=None, strict=*"])


def test_fixtures_in_a_sync_test_without_any_async_plugin(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import time

        from lcw_emulator import load_public_keys
        from lcw_emulator.token_providers import static_token

        def test_keys_in_every_form(lcw_keys):
            assert lcw_keys.kid == "lcw-test-key"
            assert load_public_keys(lcw_keys.public_pem)[0].kid is None
            assert load_public_keys(__import__("json").dumps(lcw_keys.key_array()))[0].kid == (
                "lcw-test-key"
            )
            assert load_public_keys(__import__("json").dumps(lcw_keys.jwks()))[0].kid == (
                "lcw-test-key"
            )

        def test_the_keys_are_made_once_per_session(lcw_keys):
            global FIRST
            FIRST = lcw_keys

        def test_the_keys_are_made_once_per_session_2(lcw_keys):
            assert lcw_keys is FIRST

        def test_clock_org_widget_hang_together(lcw, lcw_clock, lcw_org, lcw_widget):
            assert abs(lcw_clock.now() - time.time()) < 60
            assert lcw_org.clock is lcw_clock and lcw.clock is lcw_clock
            assert lcw_widget is lcw.widget and lcw_widget.is_ready
            assert lcw_widget.work_stream.name == "Test work stream"

        def test_a_chat_start_with_a_minted_token(lcw, lcw_token):
            lcw.sdk.setAuthTokenProvider(static_token(lcw_token(context={"plan": "gold"})))
            session = lcw.run(lcw.sdk.startChat)
            assert session.customer_id == "lcw-test-contact"
            lcw.assert_context({"plan": "gold"}, exact=True)
            lcw.assert_sequence(["lcw:ready", "startChat", "lcw:chatQueued"])
        """
    )
    result = run(project, "-p", "no:asyncio", "-p", "no:anyio")
    result.assert_outcomes(passed=5)


def test_the_marker_configures_work_stream_start_and_strictness(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        from pathlib import Path

        import pytest

        from lcw_emulator import KeyPair, WidgetNotReadyError, WorkStream
        from lcw_emulator.token_providers import minted_token

        pytestmark = pytest.mark.lcw("contoso.toml", start=1542622100)

        def test_module_marker(lcw, lcw_clock):
            assert lcw.work_stream.name == "Contoso help"
            assert lcw_clock.now() == 1542622100

        @pytest.mark.lcw(start=1700000000)
        def test_the_closest_marker_wins_key_by_key(lcw, lcw_clock, lcw_token):
            assert lcw.work_stream.name == "Contoso help"
            assert lcw_clock.now() == 1700000000

        @pytest.mark.lcw(strict=True, load=False)
        def test_strict_and_unloaded(lcw_widget):
            assert not lcw_widget.is_ready
            with pytest.raises(WidgetNotReadyError):
                lcw_widget.sdk.setAuthTokenProvider(lambda callback: None)

        @pytest.mark.lcw(workstream=WorkStream("Built in code"))
        def test_a_work_stream_object(lcw_workstream):
            assert lcw_workstream.name == "Built in code"

        def test_the_contoso_token_service(lcw, lcw_clock):
            signer = KeyPair.from_private_pem(Path("keys/private.pem").read_text())
            lcw.sdk.setAuthTokenProvider(
                minted_token(
                    signer,
                    {"sub": "c1", "iss": "contosohelp.com"},
                    context={"msdyn_cartvalue": "10000", "msdyn_isvip": "true"},
                    clock=lcw_clock,
                )
            )
            session = lcw.run(lcw.sdk.startChat)
            assert session.queue.name == "VIP"
            lcw.assert_context({"msdyn_cartvalue": 10000, "msdyn_isvip": "true"})
        """
    )
    run(project).assert_outcomes(passed=5)


def test_lcw_token_says_when_the_work_stream_does_not_trust_lcw_keys(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        """
        from pathlib import Path

        import pytest

        from lcw_emulator import ChatAuthSettings, KeyPair, WorkStream

        pytestmark = pytest.mark.lcw("contoso.toml", start=1542622100)

        def test_the_default_keys(lcw_token):
            with pytest.raises(ValueError, match="a key work stream 'Contoso help' does not trust"):
                lcw_token()

        @pytest.mark.lcw(
            workstream=WorkStream(
                "Shared secret",
                auth=ChatAuthSettings(algorithms=("HS256",), secret="s" * 32),
            )
        )
        def test_a_work_stream_that_takes_no_rs256(lcw_token):
            with pytest.raises(ValueError, match="'Shared secret' does not allow"):
                lcw_token()

        class TestWithTheTrustedPair:
            @pytest.fixture
            def lcw_keys(self):
                return KeyPair.from_private_pem(Path("keys/private.pem").read_text())

            def test_a_chat_starts(self, lcw, lcw_token):
                token = lcw_token(context={"msdyn_cartvalue": "5"})
                lcw.sdk.setAuthTokenProvider(lambda callback: callback(token))
                assert lcw.run(lcw.sdk.startChat).context["msdyn_cartvalue"] == 5
        """
    )
    run(project).assert_outcomes(passed=3)


def test_a_conftest_can_override_a_fixture(project: pytest.Pytester) -> None:
    project.makeconftest(
        """
        import pytest
        from lcw_emulator import WorkStream

        @pytest.fixture
        def lcw_workstream():
            return WorkStream.from_toml("contoso.toml")
        """
    )
    project.makepyfile(
        """
        def test_overridden(lcw_widget):
            assert lcw_widget.work_stream.name == "Contoso help"
        """
    )
    run(project).assert_outcomes(passed=1)


def test_a_wrong_marker_is_a_clear_setup_error(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import pytest

        @pytest.mark.lcw(strict=True, speed=3)
        def test_unknown_option(lcw):
            pass

        @pytest.mark.lcw("missing.toml")
        def test_missing_file(lcw):
            pass

        @pytest.mark.lcw(workstream=42)
        def test_not_a_work_stream(lcw):
            pass

        @pytest.mark.lcw(start="2026-01-01")
        def test_start_not_a_number(lcw):
            pass

        @pytest.mark.lcw(start=1796000000000)
        def test_start_in_milliseconds(lcw):
            pass

        @pytest.mark.lcw(strict="no")
        def test_strict_not_a_boolean(lcw):
            pass

        @pytest.mark.lcw("contoso.toml", workstream="contoso.toml")
        def test_work_stream_twice(lcw):
            pass

        @pytest.mark.lcw("not_toml.toml")
        def test_not_toml(lcw):
            pass

        @pytest.mark.lcw("")
        def test_empty_path(lcw):
            pass
        """
    )
    (project.path / "not_toml.toml").write_text("name = \n")
    result = run(project)
    result.assert_outcomes(errors=9)
    # Each is one message: no traceback, no second copy chained to its cause.
    result.stdout.no_fnmatch_line("*During handling of the above exception*")
    result.stdout.no_fnmatch_line("*Traceback*")
    # Once in the error's report (the short summary, which CI prints in full, repeats it).
    shown = [line for line in result.outlines if "not valid TOML" in line]
    assert len([line for line in shown if not line.startswith("ERROR ")]) == 1
    result.stdout.fnmatch_lines(
        [
            "*@pytest.mark.lcw: unknown option speed (known: load, start, strict, workstream)",
            "*@pytest.mark.lcw: no work stream file 'missing.toml' beside the test (*) "
            "or in the rootdir (*)",
            "*@pytest.mark.lcw: workstream must be a WorkStream or a TOML path, got int",
            "*@pytest.mark.lcw: start must be epoch seconds (a finite number), got '2026-01-01'",
            "*@pytest.mark.lcw: start 1796000000000 is past the year 5000 in epoch seconds: "
            "milliseconds (JavaScript's Date.now())? give epoch seconds",
            "*@pytest.mark.lcw: strict must be True or False, got 'no'",
            "*@pytest.mark.lcw: give the work stream once, not twice",
            "*@pytest.mark.lcw: an empty path names no work stream file",
        ],
        consecutive=False,
    )


def test_assertion_failures_show_what_was_recorded(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import pytest
        from lcw_emulator import LcwError
        from lcw_emulator.token_providers import static_token

        def test_expired(lcw, lcw_token):
            lcw.sdk.setAuthTokenProvider(static_token(lcw_token(lifetime=-1)))
            with pytest.raises(LcwError):
                lcw.run(lcw.sdk.startChat)
            lcw.assert_emitted("lcw:chatQueued")

        def test_wrong_code(lcw):
            with pytest.raises(LcwError):
                lcw.run(lcw.sdk.startChat)
            lcw.assert_error(code=4)

        def test_typed_context(lcw, lcw_token):
            lcw.sdk.setAuthTokenProvider(static_token(lcw_token(context={"cart": "10"})))
            lcw.run(lcw.sdk.startChat)
            lcw.assert_context({"cart": 10})

        def test_refused(lcw, lcw_token):
            lcw.sdk.setAuthTokenProvider(static_token(lcw_token(iat=2**40)))
            lcw.run(lcw.sdk.startChat)
        """
    )
    result = run(project)
    result.assert_outcomes(failed=4)
    result.stdout.fnmatch_lines(
        [
            "E       AssertionError: Expected lcw:chatQueued to have been emitted. "
            "lcw:chatQueued was never recorded.",
            "E       Recorded timeline:",
            "E  * service  token refused  {'claim': 'exp', 'reason': 'the token expired at exp *",
            "E  * event    lcw:error  {'errorCode': 4, *",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "E       AssertionError: Expected an lcw:error with errorCode 4. Errors emitted:",
            "E         [[]8] Auth function cannot be found on webpage: work stream *",
        ]
    )
    result.stdout.fnmatch_lines(
        ["E         cart: expected 10 (int), got '10' (str)"]  # unknown keys are Text
    )
    # A refused start ends the traceback at the test's line, with the code and the reason.
    result.stdout.fnmatch_lines(
        [
            ">       lcw.run(lcw.sdk.startChat)",
            "E       lcw_emulator.errors.LcwError: [[]4] Auth token provider provided invalid "
            "token: iat 1099511627776 looks like milliseconds*",
        ]
    )
    # The helpers hide their own frames: the traceback ends in the user's test.
    result.stdout.no_fnmatch_line("*lcw_emulator/emulator.py*")
    result.stdout.no_fnmatch_line("*lcw_emulator/widget.py*")


def test_an_awaited_refusal_ends_at_the_test_s_line_too(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        async def test_refused(lcw, lcw_token):
            lcw.sdk.setAuthTokenProvider(lambda callback: callback(lcw_token(iss="")))
            await lcw.sdk.startChat()

        async def test_not_ours(lcw, lcw_token, monkeypatch):
            def broken(*args, **kwargs):
                raise KeyError("a bug of ours")

            monkeypatch.setattr(lcw.widget.service, "judge_token", broken)
            lcw.sdk.setAuthTokenProvider(lambda callback: callback(lcw_token()))
            await lcw.sdk.startChat()
        """
    )
    result = run(project, "-o", "asyncio_mode=auto")
    result.assert_outcomes(failed=2)
    output = result.stdout.str()
    refused, not_ours = output.split("test_not_ours")[0], output.split("test_not_ours", 1)[1]
    assert "lcw_emulator.errors.LcwError: [4]" in refused
    # A documented failure hides the chat start's frames; any other exception keeps them.
    assert "lcw_emulator/widget.py" not in refused and "lcw_emulator/sdk.py" not in refused
    assert "lcw_emulator/widget.py" in not_ours and "KeyError" in not_ours


def test_an_assert_in_a_listener_fails_the_test(project: pytest.Pytester) -> None:
    # A listener's failure does not stop the widget, as in a browser; but an assert there is
    # the test's own check, and a test must not pass when it fails.
    project.makepyfile(
        """
        import pytest
        from lcw_emulator.token_providers import static_token

        def test_sync(lcw, lcw_token):
            @lcw.widget.on("lcw:chatQueued")
            def check():
                assert lcw.session.context == {"wrong": 1}

            lcw.sdk.setAuthTokenProvider(static_token(lcw_token()))
            lcw.run(lcw.sdk.startChat)
            assert lcw.session is not None  # the widget went on

        async def test_async(lcw, lcw_token):
            @lcw.widget.on("lcw:chatQueued")
            async def check():
                assert False, "checked in an async listener"

            lcw.sdk.setAuthTokenProvider(static_token(lcw_token()))
            await lcw.sdk.startChat()
            await lcw.widget.wait_for_complete()

        def start_with_a_failing_check(lcw, lcw_token, message):
            @lcw.widget.on("lcw:chatQueued")
            def check():
                assert False, message

            lcw.sdk.setAuthTokenProvider(static_token(lcw_token()))
            lcw.run(lcw.sdk.startChat)

        def test_that_fails_itself_is_reported_once(lcw, lcw_token):
            start_with_a_failing_check(lcw, lcw_token, "the listener's check")
            assert False, "the test's own check"

        def test_skipped_after_the_chat_stays_skipped(lcw, lcw_token):
            start_with_a_failing_check(lcw, lcw_token, "VIP routing checked")
            pytest.skip("VIP routing not deployed here")

        @pytest.mark.xfail(reason="known bug")
        def test_an_expected_failure_is_one_xfail(lcw, lcw_token):
            start_with_a_failing_check(lcw, lcw_token, "the listener's check")
            assert False, "the known bug"

        def test_a_page_bug_is_only_recorded(lcw, lcw_token):
            @lcw.widget.on("lcw:chatQueued")
            def check():
                raise TypeError("the page's own bug")

            lcw.widget.on("lcw:chatqueued", lambda: None)
            lcw.sdk.setAuthTokenProvider(static_token(lcw_token()))
            lcw.run(lcw.sdk.startChat)
            assert len(lcw.widget.handler_errors) == 1
        """
    )
    result = run(project, "-o", "asyncio_mode=auto")
    result.assert_outcomes(passed=3, errors=2, failed=1, skipped=1, xfailed=1, warnings=2)
    result.stdout.no_fnmatch_line("*ERROR at teardown of test_skipped_after_the_chat*")
    # A page bug does not fail the test, but pytest's summary shows it, as a console would.
    result.stdout.fnmatch_lines(
        [
            # At the test function's line, not the package's.
            "*test_an_assert_in_a_listener_fails_the_test.py:*: ListenerWarning: an event "
            "listener raised TypeError: the page's own bug*",
            "*test_an_assert_in_a_listener_fails_the_test.py:*: ListenerWarning: a listener for "
            "'lcw:chatqueued', an event the widget never fires (did you mean 'lcw:chatQueued'?)*",
        ],
        consecutive=False,
    )
    result.stdout.no_fnmatch_line("*ERROR at teardown of test_that_fails_itself_is_reported_once*")
    result.stdout.fnmatch_lines(
        [
            "E       AssertionError: an assertion in an event listener failed: assert {} == *",
            "E       AssertionError: an assertion in an event listener failed: checked in an *",
        ],
        consecutive=False,
    )


def test_listener_warnings_under_warnings_as_errors(project: pytest.Pytester) -> None:
    # With -W error a ListenerWarning becomes an error: it must not stand in for a listener's
    # failed assert, nor add a second report to a test that failed; it can be ignored.
    project.makepyfile(
        """
        import pytest
        from lcw_emulator.token_providers import static_token

        def start(lcw, lcw_token, *listeners):
            for listener in listeners:
                lcw.widget.on("lcw:chatQueued", listener)
            lcw.sdk.setAuthTokenProvider(static_token(lcw_token()))
            lcw.run(lcw.sdk.startChat)

        def bug():
            raise TypeError("page bug")

        def check():
            assert False, "THE LISTENER'S CHECK"

        def test_assert_beside_a_bug(lcw, lcw_token):
            start(lcw, lcw_token, bug, check)

        def test_that_failed_itself(lcw, lcw_token):
            start(lcw, lcw_token, bug)
            assert False, "the test's own check"

        def test_a_bug_alone(lcw, lcw_token):
            start(lcw, lcw_token, bug)

        @pytest.mark.filterwarnings("ignore::lcw_emulator.ListenerWarning")
        def test_a_bug_ignored(lcw, lcw_token):
            start(lcw, lcw_token, bug)
        """
    )
    result = run(project, "-W", "error")
    result.assert_outcomes(passed=3, failed=1, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_assert_beside_a_bug*",
            "E       AssertionError: an assertion in an event listener failed: THE LISTENER'S *",
            "*ERROR at teardown of test_a_bug_alone*",
            "*ListenerWarning: an event listener raised TypeError: page bug*",
        ],
        consecutive=False,
    )
    result.stdout.no_fnmatch_line("*ERROR at teardown of test_that_failed_itself*")
    result.stdout.no_fnmatch_line("*ERROR at teardown of test_a_bug_ignored*")


def test_async_tests_with_pytest_asyncio_in_both_modes(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import pytest
        from lcw_emulator.token_providers import delayed, static_token

        @pytest.mark.asyncio
        async def test_marked(lcw_widget, lcw_token, lcw, lcw_clock):
            start = lcw_clock.now()
            lcw_widget.sdk.setAuthTokenProvider(delayed(lcw_token(), 9.5, clock=lcw_clock))
            session = await lcw_widget.sdk.startChat()
            assert session.authenticated
            assert lcw_clock.now() == start + 9.5
            lcw.assert_no_error()
        """
    )
    run(project).assert_outcomes(passed=1)
    run(project, "-o", "asyncio_mode=auto").assert_outcomes(passed=1)


def test_async_tests_with_anyio(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import pytest
        from lcw_emulator.token_providers import never_answering

        @pytest.fixture
        def anyio_backend():
            return "asyncio"

        @pytest.mark.anyio
        async def test_timeout(lcw_widget, lcw):
            lcw_widget.sdk.setAuthTokenProvider(never_answering())
            with pytest.raises(Exception):
                await lcw_widget.sdk.startChat()
            lcw.assert_error(code=3, match="within 10 s")
        """
    )
    run(project, "-p", "no:asyncio").assert_outcomes(passed=1)


def test_a_minted_token_lives_exactly_its_lifetime_from_the_default_start(
    lcw: LcwEmulator, lcw_token: Callable[..., str]
) -> None:
    # The default start is a whole second, as the token's iat and exp are: a token minted
    # for 60 s is refused 60 s later, whenever the test runs.
    assert lcw.clock.now() == int(lcw.clock.now())
    token = lcw_token(lifetime=60)
    lcw.advance(60)
    lcw.sdk.setAuthTokenProvider(static_token(token))
    with pytest.raises(LcwError) as refused:
        lcw.run(lcw.sdk.startChat)
    assert (refused.value.code, refused.value.claim) == (4, "exp")


def test_a_conftest_may_name_the_plugin_too(project: pytest.Pytester) -> None:
    # As a checkout's conftest or `-p lcw_emulator.pytest_plugin` would: one plugin, not two.
    project.makeconftest('pytest_plugins = ["lcw_emulator.pytest_plugin"]')
    project.makepyfile(
        """
        def test_the_fixture_is_there(lcw):
            assert lcw.widget.is_ready
        """
    )
    run(project).assert_outcomes(passed=1)
    run(project, "-p", "lcw_emulator.pytest_plugin").assert_outcomes(passed=1)


def test_a_misspelt_event_fails_at_the_test_s_own_line(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        def test_typo(lcw):
            lcw.assert_not_emitted("lcw:eror", errorCode=3)
        """
    )
    result = run(project, "--tb=short")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*'lcw:eror' is not an lcw:* event*did you mean 'lcw:error'*"])
    assert "emulator.py" not in result.stdout.str()


def test_a_chat_start_left_waiting_does_not_go_on_into_the_next_test(
    project: pytest.Pytester,
) -> None:
    # On a loop the module shares, test A's chat start (waiting for a token that never
    # comes) would time out during test B and fire A's listeners there.
    project.makepyfile(
        """
        import asyncio
        import os

        import pytest

        from lcw_emulator.token_providers import never_answering

        pytestmark = pytest.mark.asyncio(loop_scope="module")
        HEARD = []

        async def test_a_gives_up_while_a_chat_is_starting(lcw, request):
            lcw.widget.on("lcw:error", lambda event: HEARD.append(request.node.name))
            lcw.sdk.setAuthTokenProvider(never_answering())
            lcw.sdk.startChat()
            await asyncio.sleep(0)

        async def test_b_hears_nothing_of_test_a(lcw):
            await asyncio.sleep(0.01)
            assert HEARD == []
            assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []

        def heard(*_):
            HEARD.append(os.environ["PYTEST_CURRENT_TEST"])

        async def test_c_ends_before_its_chat_start_begins(lcw):
            lcw.widget.on("lcw:error", heard)
            lcw.sdk.setAuthTokenProvider(never_answering())
            lcw.sdk.startChat()  # it begins as the loop winds down after the test

        async def test_d_ends_while_a_replayed_start_waits(lcw):
            lcw.widget.state = lcw.widget.state.NOT_LOADED  # as a reload begins
            lcw.widget.on("lcw:error", heard)
            lcw.sdk.setAuthTokenProvider(never_answering())
            lcw.sdk.startChat()  # queued until lcw:ready, then replayed
            await lcw.widget.load()
            await asyncio.sleep(0)

        async def test_e_hears_nothing_of_tests_c_and_d(lcw):
            await asyncio.sleep(0.01)
            assert HEARD == []  # neither start timed out, here or before
            assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []
        """
    )
    run(project, "-W", "error").assert_outcomes(passed=5)


def test_the_documented_plugin_name_is_the_one_that_turns_it_off(
    project: pytest.Pytester,
) -> None:
    import tomllib

    root = Path(__file__).resolve().parent.parent
    [name] = tomllib.loads((root / "pyproject.toml").read_text())["project"]["entry-points"][
        "pytest11"
    ]
    docs = (root / "docs" / "token-service.md").read_text()
    assert f"`pytest -p no:{name}`" in docs
    project.makepyfile("def test_uses_it(lcw):\n    assert lcw.widget.is_ready\n")
    result = run(project, "-p", f"no:{name}")
    result.assert_outcomes(errors=1)
    assert "fixture 'lcw' not found" in result.stdout.str()


def test_listener_warnings_from_the_fixture_match_filters_naming_the_test_module(
    project: pytest.Pytester,
) -> None:
    # As warnings.warn names them: the test's module, so a filter by module matches it. The
    # two modules are the same test: only the filter tells them apart.
    unheard = """
        def test_unheard(lcw):
            lcw.widget.on("lcw:chatqueued", lambda: None)
        """
    project.makepyfile(test_quiet=unheard, test_loud=unheard)
    result = run(project, "-W", "ignore::lcw_emulator.ListenerWarning:test_quiet")
    result.assert_outcomes(passed=2, warnings=1)
    result.stdout.fnmatch_lines(["*test_loud.py:*: ListenerWarning: a listener for*"])
    result.stdout.no_fnmatch_line("*test_quiet.py:*ListenerWarning*")


def test_listener_warnings_in_a_doctest_or_a_vanished_module_stay_warnings(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        test_gone="""
        import sys

        def test_gone(lcw):
            lcw.widget.on("lcw:chatqueued", lambda: None)
            del sys.modules[__name__]  # the registry is gone: still a warning, not an error
        """,
        page='''
        def documented():
            """
            >>> lcw = getfixture("lcw")
            >>> _ = lcw.widget.on("lcw:chatqueued", lambda: None)
            """
        ''',
    )
    result = run(project, "--doctest-modules")
    result.assert_outcomes(passed=2, warnings=2)
    result.stdout.fnmatch_lines(
        ["*page.py:*: ListenerWarning*", "*test_gone.py:*: ListenerWarning*"]
    )
    result.stdout.no_fnmatch_line("*pytest_plugin.py*ListenerWarning*")
