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
_thread: threading.Thread | None = None
_thread_ident: int | None = None
_owner_pid: int | None = None

# How long the exit hook waits for a store coroutine still running on the loop.
_STOP_WAIT_SECONDS = 5.0


def store_loop() -> asyncio.AbstractEventLoop:
    """The running store loop of this process, started on first use."""
    global _loop, _thread, _thread_ident, _owner_pid
    with _lock:
        if _loop is None or _owner_pid != os.getpid():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="crm-agent-store-loop", daemon=True)
            thread.start()
            _loop, _thread, _thread_ident, _owner_pid = loop, thread, thread.ident, os.getpid()
        return _loop


def stop() -> None:
    """Stops this process's store loop, if one runs, and waits a moment for its thread to end
    (the package's exit hook calls it)."""
    global _loop, _thread
    with _lock:
        loop, thread = _loop, _thread
        if loop is None or thread is None or _owner_pid != os.getpid():
            return
        _loop, _thread = None, None
    loop.call_soon_threadsafe(loop.stop)
    thread.join(_STOP_WAIT_SECONDS)


def on_store_loop() -> bool:
    """Whether the calling thread is the store loop's own.

    A blocking agent call made there (from an ``async def`` store method) would wait for store
    calls that only this very loop can run: the agent refuses it instead of hanging.
    """
    # Cheapest test first: this runs before every blocking call.
    return threading.get_ident() == _thread_ident and _owner_pid == os.getpid()
