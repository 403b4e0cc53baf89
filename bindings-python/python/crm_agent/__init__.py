"""crm-agent for Python: an AI assistant for your CRM, safe in front of real customers' data.

The work happens in Rust (``crm_agent._native``); this package re-exports it and adds the
``Store`` base class for stores written in Python. See ``docs/python.md``.
"""

from __future__ import annotations

import atexit
import os

from crm_agent import _native, _store_loop
from crm_agent._native import (
    Agent,
    ChatStream,
    Conflict,
    CrmAgentError,
    InvalidArgument,
    ModelError,
    NotFound,
    PermissionDenied,
    StoreError,
    Unauthenticated,
    Unsupported,
    UserContext,
    __version__,
    compat_encode,
    compat_status,
    sse_encode,
)
from crm_agent.store import Store

# No agent may be in the middle of a database write when the process forks (see _before_fork).
os.register_at_fork(before=_native._before_fork)


def _at_exit() -> None:
    """Runs before the interpreter finalizes: queued audit events are written, then no thread of
    the native runtime enters Python again, then the store loop stops. A native thread that
    touched Python while it finalizes would abort or crash the process after the program had
    finished."""
    _native._at_exit()
    _store_loop.stop()


atexit.register(_at_exit)

__all__ = [
    "Agent",
    "ChatStream",
    "Conflict",
    "CrmAgentError",
    "InvalidArgument",
    "ModelError",
    "NotFound",
    "PermissionDenied",
    "Store",
    "StoreError",
    "Unauthenticated",
    "Unsupported",
    "UserContext",
    "__version__",
    "compat_encode",
    "compat_status",
    "sse_encode",
]
