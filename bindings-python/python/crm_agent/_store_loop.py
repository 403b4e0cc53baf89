"""The event loop that runs ``async def`` methods of Python stores.

It lives on a daemon thread of its own, so a store coroutine never waits for the caller's event
loop (which may be blocked in a sync call) and the caller's loop never waits for the store.
After ``fork()`` the child starts a new one: the parent's thread does not exist there.
"""

from __future__ import annotations

import asyncio
import os
import threading

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread_ident: int | None = None
_owner_pid: int | None = None


def store_loop() -> asyncio.AbstractEventLoop:
    """The running store loop of this process, started on first use."""
    global _loop, _thread_ident, _owner_pid
    with _lock:
        if _loop is None or _owner_pid != os.getpid():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="crm-agent-store-loop", daemon=True)
            thread.start()
            _loop, _thread_ident, _owner_pid = loop, thread.ident, os.getpid()
        return _loop


def on_store_loop() -> bool:
    """Whether the calling thread is the store loop's own.

    A blocking agent call made there (from an ``async def`` store method) would wait for store
    calls that only this very loop can run: the agent refuses it instead of hanging.
    """
    # Cheapest test first: this runs before every blocking call.
    return threading.get_ident() == _thread_ident and _owner_pid == os.getpid()
