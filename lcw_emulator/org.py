"""The org a user holds: the Omnichannel service plus a way to put widgets on pages.

:class:`Omnichannel` is the service (:class:`~lcw_emulator.service.OmnichannelService`)
with one addition, :meth:`Omnichannel.widget`, which lives here rather than in
the service so that the service never imports the page side.
"""

from __future__ import annotations

import os

from .service import OmnichannelService
from .widget import Widget
from .workstream import WorkStream

__all__ = ["Omnichannel"]


class Omnichannel(OmnichannelService):
    """A simulated Omnichannel org: work streams, sessions, and their widgets."""

    def widget(
        self,
        work_stream: WorkStream | str | os.PathLike[str],
        *,
        strict: bool = False,
        load_failure: str | None = None,
    ) -> Widget:
        """A new live chat widget bound to this org and ``work_stream``.

        ``work_stream`` is a :class:`WorkStream` or the path of a work stream TOML file.
        ``strict`` raises on SDK calls before ``lcw:ready`` instead of queueing
        them; ``load_failure`` makes ``load()`` fail with code 7 and that detail.
        """
        if isinstance(work_stream, str | os.PathLike):
            work_stream = WorkStream.from_toml(work_stream)
        return Widget(self, work_stream, strict=strict, load_failure=load_failure)
