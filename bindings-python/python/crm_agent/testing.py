"""Helpers for tests: the core's store conformance suite, and a client of the fake Gemini
server (``fake-gemini``, the workspace's stand-in for the Gemini API, which speaks its wire
protocol and answers from a script)."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any, Literal

from crm_agent import _native
from crm_agent._native import Unsupported
from crm_agent.store import Store

__all__ = ["FakeGemini", "assert_store_conforms", "run_store_conformance"]


def run_store_conformance(factory: Callable[[], Store]) -> list[dict]:
    """Runs the core's store conformance suite with fresh stores from ``factory``; answers one
    result per case (``name``, ``outcome``, ``message``).

    The published wheel leaves the suite out (it is test code); a wheel built with the
    ``conformance`` feature has it (see docs/python.md)."""
    run = getattr(_native, "run_store_conformance", None)
    if run is None:
        raise Unsupported(
            "this crm_agent wheel leaves out the store conformance suite; "
            "build it with the `conformance` feature (docs/python.md)"
        )
    return run(factory)


def assert_store_conforms(factory: Callable[[], Store], *, must_run: Iterable[str] = ()) -> list[dict]:
    """Runs the suite with fresh stores from ``factory``; fails on any failed case, and when a
    case named in ``must_run`` was skipped (so a store cannot pass by implementing nothing).
    Answers the per-case results."""
    results = run_store_conformance(factory)
    failed = [f"{r['name']}: {r['message']}" for r in results if r["outcome"] == "failed"]
    if failed:
        raise AssertionError("store conformance failures:\n" + "\n".join(failed))
    passed = {r["name"] for r in results if r["outcome"] == "passed"}
    missing = [name for name in must_run if name not in passed]
    if missing:
        raise AssertionError(f"these cases did not run: {missing}")
    return results


class FakeGemini:
    """A running ``fake-gemini`` process and its control endpoints (``/_fake/…``).

    ``binary`` defaults to ``$FAKE_GEMINI_BIN``, else ``$CRM_AGENT_BIN_DIR/fake-gemini``. The
    process exits when its stdin closes, so it never outlives the test run; ``stop()`` (or
    leaving a ``with`` block) closes it. Point an agent at ``url`` (``gemini_base_url``).
    """

    def __init__(self, binary: str | None = None, turns: list[dict[str, Any]] | None = None) -> None:
        binary = binary or os.environ.get("FAKE_GEMINI_BIN")
        if not binary and os.environ.get("CRM_AGENT_BIN_DIR"):
            binary = os.path.join(os.environ["CRM_AGENT_BIN_DIR"], "fake-gemini")
        if not binary or not os.access(binary, os.X_OK):
            raise FileNotFoundError(
                f"fake-gemini not found ({binary or 'no path given'}): build it, or set FAKE_GEMINI_BIN"
            )
        self.process = subprocess.Popen(
            [binary, "--exit-on-stdin-eof"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        first = self.process.stdout.readline().strip()
        if not first.startswith("FAKE_GEMINI_URL="):
            self.stop()
            raise RuntimeError(f"fake-gemini printed {first!r} instead of its URL")
        self.url = first.removeprefix("FAKE_GEMINI_URL=")
        if turns is not None:
            self.script(turns)

    def __enter__(self) -> FakeGemini:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("content-type", "application/json")
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read().decode()
        return json.loads(text) if text else None

    def script(self, turns: list[dict[str, Any]]) -> None:
        """Replaces the scripted answers, forgetting earlier requests and violations."""
        self._call("POST", "/_fake/reset", {"turns": turns})

    def requests(self) -> list[dict[str, Any]]:
        """The requests made since the last ``script``, in order."""
        return self._call("GET", "/_fake/requests")

    def violations(self) -> list[str]:
        """Ways the client broke the Gemini protocol (none, we hope)."""
        return self._call("GET", "/_fake/violations")

    def function_responses(self) -> list[dict[str, Any]]:
        """Every tool result sent back to the model, in order."""
        return [
            part["functionResponse"]
            for request in self.requests()
            for content in request["body"]["contents"]
            for part in content["parts"]
            if "functionResponse" in part
        ]

    def wait_for_stream(self, state: Literal["sending", "sent", "abandoned"], timeout: float = 10.0) -> dict[str, Any]:
        """Waits until the latest streamed reply has reached ``state`` and answers its request.
        A cancelled turn has hung up on the model once its stream is ``abandoned``; it then
        stores what it keeps (the question), so wait for that write too before checking it."""
        deadline = time.monotonic() + timeout
        while True:
            streamed = [request for request in self.requests() if request.get("stream")]
            if streamed and streamed[-1]["stream"] == state:
                return streamed[-1]
            if time.monotonic() > deadline:
                latest = streamed[-1]["stream"] if streamed else None
                raise TimeoutError(f"no streamed reply reached {state!r} in {timeout} s (the latest: {latest!r})")
            time.sleep(0.01)

    def stop(self) -> None:
        if self.process.stdin and not self.process.stdin.closed:
            self.process.stdin.close()
        self.process.wait(timeout=10)
