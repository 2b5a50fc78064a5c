"""The lcw-emulator pytest plugin: a fake live chat widget in one fixture.

Installed with the package (``pytest11`` entry point ``lcw_emulator.pytest_plugin``, the
module's own name: ``-p no:lcw_emulator.pytest_plugin`` turns it off); every
fixture is prefixed ``lcw_`` so it never clashes with yours:

``lcw``
    an :class:`~lcw_emulator.emulator.LcwEmulator`, entered and loaded: the
    widget, its SDK, and the assertions (``lcw.assert_emitted(...)``).
``lcw_widget``
    the loaded :class:`~lcw_emulator.widget.Widget` (``lcw.widget``).
``lcw_clock``, ``lcw_org``, ``lcw_workstream``
    the virtual clock, the org on it, the work stream the widget serves.
``lcw_keys``
    an RS256 :class:`~lcw_emulator.auth.KeyPair` made once per session, kid
    ``lcw-test-key``: ``public_pem``, ``key_array()``, ``jwks()``, ``mint()``.
``lcw_token``
    ``lcw_token(sub=..., context={...}, lifetime=3600, **claims)`` mints a
    token the default work stream accepts, at the virtual clock's now.

Configure them per test (or per module/class via ``pytestmark``) with the
marker; a closer marker wins key by key::

    @pytest.mark.lcw(workstream="contoso.toml", start=1542622100, strict=True, load=True)

``workstream`` is a :class:`~lcw_emulator.workstream.WorkStream` or a TOML
path (relative to the test file, else to the rootdir). Without it the work
stream is ``Test work stream``: RS256 with ``lcw_keys``'s public key (PEM,
no kid), no issuer, no declared variables. ``start`` defaults to the real
time now plus 10 s, so tokens your real service mints with the real clock
in the test's first 10 s of real time are fresh (not "issued in the future");
the virtual clock does not follow the wall clock, so a longer test moves it
on with ``lcw.advance(seconds)``.

Async: every fixture here is a plain (sync) fixture, so the plugin needs no
async plugin. A sync test drives the widget on the emulator's own loop with
``lcw.run(lcw.sdk.startChat)``. An async test (pytest-asyncio, in auto mode or
marked ``@pytest.mark.asyncio``, or anyio) awaits the SDK on its own loop:
``await lcw_widget.sdk.startChat()``; the emulator's objects are not tied to
a loop and its virtual clock follows whichever loop waits on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import pytest

if TYPE_CHECKING:
    from .auth import KeyPair
    from .clock import VirtualClock
    from .emulator import LcwEmulator
    from .org import Omnichannel
    from .widget import Widget
    from .workstream import WorkStream

__all__ = ["DEFAULT_KID", "DEFAULT_SUB", "LcwOptions"]

DEFAULT_KID = "lcw-test-key"
DEFAULT_SUB = "lcw-test-contact"
_MARKER_HELP = (
    "lcw(workstream=None, *, start=None, strict=False, load=True): configure the lcw_ fixtures "
    "of lcw-emulator: work stream (WorkStream or TOML path), virtual clock start (epoch "
    "seconds; default the real time now plus 10 s), strict SDK calls before lcw:ready, load the "
    "widget"
)


@attrs.frozen
class LcwOptions:
    """What the ``lcw`` markers on a test ask for (closest marker first, key by key)."""

    workstream: Any = None
    start: float | None = None
    strict: bool = False
    load: bool = True


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``lcw`` marker, so ``--strict-markers`` runs take it."""
    config.addinivalue_line("markers", _MARKER_HELP)


# Whether a test's own call failed, or was skipped or xfailed on purpose (pytest.skip() after
# the chat, an expected failure), for the lcw fixture's teardown: a listener's assertion then
# adds no error (pytest hands a fixture no outcome; this is the hook its documentation shows).
_CALL_DECIDED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Note whether the test's call decided its outcome (see :data:`_CALL_DECIDED`)."""
    report = yield
    if report.when == "call":
        item.stash[_CALL_DECIDED] = report.failed or report.skipped
    return report


def _options(node: pytest.Item) -> LcwOptions:
    known = {field.name for field in attrs.fields(LcwOptions)}
    chosen: dict[str, Any] = {}
    for marker in node.iter_markers("lcw"):  # closest first
        if len(marker.args) > 1:
            pytest.fail(
                "@pytest.mark.lcw takes one positional argument: the work stream", pytrace=False
            )
        given = dict(marker.kwargs)
        if marker.args:
            if "workstream" in given:
                pytest.fail("@pytest.mark.lcw: give the work stream once, not twice", pytrace=False)
            given["workstream"] = marker.args[0]
        unknown = sorted(set(given) - known)
        if unknown:
            pytest.fail(
                f"@pytest.mark.lcw: unknown option {', '.join(unknown)} "
                f"(known: {', '.join(sorted(known))})",
                pytrace=False,
            )
        for key, value in given.items():
            chosen.setdefault(key, value)
    for key in ("strict", "load"):
        if key in chosen and not isinstance(chosen[key], bool):
            pytest.fail(
                f"@pytest.mark.lcw: {key} must be True or False, got {chosen[key]!r}",
                pytrace=False,
            )
    start = chosen.get("start")
    if start is not None:
        from .clock import epoch_seconds

        problem: str | None = None
        try:
            chosen["start"] = epoch_seconds(start, "start")  # a datetime too, as the clocks take
        except TypeError:
            problem = f"start must be epoch seconds (a finite number), got {start!r}"
        except ValueError as error:
            problem = str(error)
        if problem is not None:  # failed here, not in the except: one message, no chain
            pytest.fail(f"@pytest.mark.lcw: {problem}", pytrace=False)
    return LcwOptions(**chosen)


@pytest.fixture
def lcw_options(request: pytest.FixtureRequest) -> LcwOptions:
    """The merged ``@pytest.mark.lcw`` options of this test."""
    return _options(request.node)


@pytest.fixture(scope="session")
def lcw_keys() -> KeyPair:
    """An RS256 key pair (2048 bits, kid ``lcw-test-key``), made once per test session."""
    from .auth import KeyPair

    return KeyPair.generate(kid=DEFAULT_KID)


@pytest.fixture
def lcw_clock(lcw_options: LcwOptions) -> Iterator[VirtualClock]:
    """The virtual clock: ``start`` from the marker, or the real time now plus 10 s.

    At teardown, whatever still waits on it (a chat start waiting for its token) is
    cancelled, so it cannot go on into the next test on a shared event loop.
    """
    from .clock import VirtualClock
    from .emulator import start_time

    clock = VirtualClock(start=start_time(lcw_options.start))
    yield clock
    clock.cancel_pending()


@pytest.fixture
def lcw_org(lcw_clock: VirtualClock) -> Omnichannel:
    """A fresh org on ``lcw_clock``."""
    from .org import Omnichannel

    return Omnichannel(clock=lcw_clock)


def _resolve(path: str | Path, request: pytest.FixtureRequest) -> Path:
    candidate = Path(path)
    if candidate.is_absolute():
        return candidate
    beside_test = request.path.parent / candidate
    in_rootdir = request.config.rootpath / candidate
    if not beside_test.exists() and not in_rootdir.exists():
        pytest.fail(
            f"@pytest.mark.lcw: no work stream file {str(path)!r} beside the test "
            f"({beside_test}) or in the rootdir ({in_rootdir})",
            pytrace=False,
        )
    return beside_test if beside_test.exists() else in_rootdir


@pytest.fixture
def lcw_workstream(
    lcw_options: LcwOptions, lcw_keys: KeyPair, request: pytest.FixtureRequest
) -> WorkStream:
    """The marker's work stream, or one that trusts ``lcw_keys`` (RS256, PEM, no issuer)."""
    from .auth import ChatAuthSettings
    from .errors import ConfigurationError
    from .workstream import WorkStream

    chosen = lcw_options.workstream
    if chosen is None:
        return WorkStream("Test work stream", auth=ChatAuthSettings(keys=lcw_keys.public_keys()))
    if isinstance(chosen, WorkStream):
        return chosen
    if not isinstance(chosen, str | Path):
        pytest.fail(
            f"@pytest.mark.lcw: workstream must be a WorkStream or a TOML path, "
            f"got {type(chosen).__name__}",
            pytrace=False,
        )
    if chosen == "":
        # Resolved, it would name the test's folder, refused as a directory.
        pytest.fail("@pytest.mark.lcw: an empty path names no work stream file", pytrace=False)
    try:
        return WorkStream.from_toml(_resolve(chosen, request))
    except ConfigurationError as exc:
        problem = f"@pytest.mark.lcw: {exc}"
    # Outside the except block, so pytest shows the problem once, not chained to its cause.
    pytest.fail(problem, pytrace=False)


@pytest.fixture
def lcw(
    request: pytest.FixtureRequest,
    lcw_org: Omnichannel,
    lcw_workstream: WorkStream,
    lcw_options: LcwOptions,
) -> Iterator[LcwEmulator]:
    """The emulator: widget (loaded unless ``load=False``), SDK, timeline assertions.

    A failed ``assert`` in an event listener fails the test at teardown, unless the test
    has failed already, or was skipped or xfailed.
    """
    from .emulator import LcwEmulator

    with LcwEmulator(
        lcw_workstream, org=lcw_org, strict=lcw_options.strict, load=lcw_options.load
    ) as emulator:
        # The test function's line (a doctest's too), with its module's name when it has one.
        module = getattr(getattr(request.node, "module", None), "__name__", None)
        line = request.node.location[1]  # None for an item that knows no line
        emulator._warn_at = (str(request.node.path), 0 if line is None else line + 1, module)
        yield emulator
        emulator._raise_listener_assertions = not request.node.stash.get(_CALL_DECIDED, False)


@pytest.fixture
def lcw_widget(lcw: LcwEmulator) -> Widget:
    """The widget, already loaded (``lcw:ready`` has fired) unless ``load=False``."""
    return lcw.widget


@pytest.fixture
def lcw_token(
    lcw_keys: KeyPair, lcw_clock: VirtualClock, lcw_workstream: WorkStream
) -> Callable[..., str]:
    """Mint a token signed by ``lcw_keys`` at the clock's now.

    ``lcw_token(sub=..., context={...}, lifetime=3600, with_kid=False, **claims)``:
    ``iat``/``nbf`` now, ``exp`` now + lifetime, ``iss`` the work stream's
    issuer when it names one, else ``"lcw-emulator"``; ``claims`` win over all of these.
    Raises :class:`ValueError` when the work stream could not take such a token: it allows no
    RS256, or names static keys none of which is ``lcw_keys``' (override ``lcw_keys``).
    """
    from .auth import DEFAULT_ISSUER, DEFAULT_TOKEN_LIFETIME
    from .token_providers import minted_token

    def mint(
        *,
        sub: str = DEFAULT_SUB,
        context: Mapping[str, Any] | None = None,
        lifetime: float = DEFAULT_TOKEN_LIFETIME,
        with_kid: bool = False,
        **claims: Any,
    ) -> str:
        auth = lcw_workstream.auth
        if auth is not None and "RS256" not in auth.algorithms:
            raise ValueError(
                f"lcw_token signs RS256 with lcw_keys, which work stream "
                f"{lcw_workstream.name!r} does not allow ({', '.join(auth.algorithms)}): mint "
                "with lcw_emulator.mint_token(claims, secret, algorithm=...) instead"
            )
        if auth is not None and auth.public_key_url is None and auth.keys:
            ours = lcw_keys.private_key.public_key().public_numbers()
            if all(key.key.public_numbers() != ours for key in auth.keys):
                # Every chat would be refused on its signature, the token blamed.
                raise ValueError(
                    f"lcw_token signs with lcw_keys, a key work stream "
                    f"{lcw_workstream.name!r} does not trust: override the lcw_keys fixture "
                    "with the pair whose public key the work stream names (for example "
                    "KeyPair.from_private_pem(Path('keys/private.pem').read_text()))"
                )
        issuer = auth.issuer if auth is not None and auth.issuer is not None else DEFAULT_ISSUER
        payload: dict[str, Any] = {"sub": sub, "iss": issuer, **claims}
        tokens: list[str] = []
        provider = minted_token(
            lcw_keys,
            payload,
            clock=lcw_clock,
            context=context,
            lifetime=lifetime,
            with_kid=with_kid,
        )
        provider(tokens.append)
        return tokens[0]

    return mint
