"""Helpers for testing a Python store against the core's store conformance suite."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from crm_agent import _native
from crm_agent._native import Unsupported
from crm_agent.store import Store

__all__ = ["assert_store_conforms", "run_store_conformance"]


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
