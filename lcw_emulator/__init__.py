"""lcw-emulator: the Dynamics 365 Omnichannel live chat widget, emulated in Python.

Run chat lifecycles with no browser, no org and no network::

    from lcw_emulator import Omnichannel, WorkStream, VirtualClock

    clock = VirtualClock(start=1542622100)
    org = Omnichannel(clock=clock)
    widget = org.widget(WorkStream.from_toml("contoso.toml"))
    await widget.load()
    widget.sdk.setAuthTokenProvider(lambda callback: callback(token))
    session = await widget.sdk.startChat()
"""

from .auth import ChatAuthSettings, KeyPair, PublicKey, TokenVerdict, load_public_keys, mint_token
from .clock import Clock, RealClock, VirtualClock
from .context import (
    ContextResolution,
    ContextVariable,
    DroppedContext,
    ResolvedVariable,
    VariableType,
)
from .emulator import LcwEmulator, TimelineAssertions
from .errors import (
    ChatStateError,
    ConfigurationError,
    ErrorCode,
    LcwError,
    ListenerWarning,
    RateLimitedError,
    SdkUsageError,
    WidgetNotReadyError,
)
from .events import EntryKind, EventDetail, LcwEvent, Timeline, TimelineEntry
from .org import Omnichannel
from .scenario import Scenario, load_scenario
from .scenario_runner import ScenarioResult, ScenarioRun, run_scenario
from .sdk import LiveChatSDK
from .service import AgentAvailability, OmnichannelService, TokenJudgement
from .session import ChatMessage, ChatSession, SessionState
from .widget import CustomEvent, Widget, WidgetState
from .workstream import Queue, RoutingRule, WorkStream

__version__ = "0.1.0"

__all__ = [
    "AgentAvailability",
    "ChatAuthSettings",
    "ChatMessage",
    "ChatSession",
    "ChatStateError",
    "Clock",
    "ConfigurationError",
    "ContextResolution",
    "ContextVariable",
    "CustomEvent",
    "DroppedContext",
    "EntryKind",
    "ErrorCode",
    "EventDetail",
    "KeyPair",
    "LcwEmulator",
    "LcwError",
    "LcwEvent",
    "ListenerWarning",
    "LiveChatSDK",
    "Omnichannel",
    "OmnichannelService",
    "PublicKey",
    "Queue",
    "RateLimitedError",
    "RealClock",
    "ResolvedVariable",
    "RoutingRule",
    "Scenario",
    "ScenarioResult",
    "ScenarioRun",
    "SdkUsageError",
    "SessionState",
    "Timeline",
    "TimelineAssertions",
    "TimelineEntry",
    "TokenJudgement",
    "TokenVerdict",
    "VariableType",
    "VirtualClock",
    "Widget",
    "WidgetNotReadyError",
    "WidgetState",
    "WorkStream",
    "__version__",
    "load_public_keys",
    "load_scenario",
    "mint_token",
    "run_scenario",
]
