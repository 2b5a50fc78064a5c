"""The documentation's JavaScript in a real browser, against the emulator.

``lcw-emulator serve`` runs :mod:`lcw_emulator.browser.server` (aiohttp, the
``browser`` extra), which serves ``shim.js`` (``Microsoft.Omnichannel.
LiveChatWidget.SDK`` for the page), ``demo.html`` (the documentation's
setAuthTokenProvider sample, verbatim) and a WebSocket on which a
:class:`~lcw_emulator.browser.bridge.PageBridge` carries the page's calls to a
Python widget and the widget's events back. This package imports without
aiohttp; only ``server`` needs it.
"""

from .bridge import PageBridge, PageScriptError, describe_session

__all__ = ["PageBridge", "PageScriptError", "describe_session"]
