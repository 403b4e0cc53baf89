"""How the binding lives in a Python process: fork, Ctrl-C during a blocking wait, and the type
stubs against the binary."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest
from conftest import Demo


def test_the_agent_works_in_a_forked_child(demo: Demo) -> None:
    before = demo.agent.call_tool(demo.owner, "list_customers", {"limit": 1})["total"]
    pid = os.fork()
    if pid == 0:  # the child: the parent's runtime threads and connections do not exist here
        code = 1
        try:
            total = demo.agent.call_tool(demo.owner, "list_customers", {"limit": 1})["total"]
            created = demo.agent.call_tool(demo.owner, "create_customer", {"name": "Forked Ltd"})
            code = 0 if total == before and created["name"] == "Forked Ltd" else 2
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    # The parent's agent is untouched, and sees the child's write (same database file).
    assert demo.agent.call_tool(demo.owner, "list_customers", {"limit": 1})["total"] == before + 1


class Interrupted(Exception):
    pass


def test_a_signal_interrupts_a_blocking_wait(demo: Demo) -> None:
    # The model takes 20 s to answer; a signal handler raising must end the wait at once.
    demo.fake.script([{"reply": {"text": "late", "first_byte_delay_ms": 20000}}])

    def handler(signum: int, frame: object) -> None:
        raise Interrupted

    previous = signal.signal(signal.SIGALRM, handler)
    stream = demo.agent.chat(demo.owner, "hello?")
    assert next(stream)["type"] == "started"
    started = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, 0.3)
    try:
        with pytest.raises(Interrupted):
            next(stream)
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - started < 5
    stream.close()


def test_ctrl_c_stops_a_sync_chat(demo: Demo) -> None:
    """A real SIGINT to a process blocked in a sync chat gives KeyboardInterrupt, promptly.

    The child says "started" once its chat runs, and from there on any Ctrl-C is its
    KeyboardInterrupt: the signal is sent as soon as that line is read, with no sleep that a
    loaded machine could outrun."""
    demo.fake.script([{"reply": {"text": "late", "first_byte_delay_ms": 30000}}])
    # The child takes Python's own Ctrl-C handler even when the tests were started from a
    # background job, which starts everything with SIGINT ignored.
    script = f"""
import signal, sys, crm_agent
signal.signal(signal.SIGINT, signal.default_int_handler)
agent = crm_agent.Agent(gemini_api_key="k", gemini_base_url={demo.fake.url!r})
org = agent.ensure_organization("acme")
ctx = crm_agent.UserContext("u", org["id"], "owner")
stream = agent.chat(ctx, "hello?")
try:
    print(next(stream)["type"], flush=True)
    next(stream)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(0)
sys.exit(3)
"""
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "started"
    child.send_signal(signal.SIGINT)
    assert child.wait(timeout=20) == 0
    assert child.stdout.read().strip() == "interrupted"


def test_the_stubs_match_the_binary(tmp_path: pathlib.Path) -> None:
    # From an empty folder, so mypy finds the installed package only once.
    done = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "crm_agent._native"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
