"""Benchmarks of the Python binding (issue 7); prints the figures recorded in docs/performance.md.

1. Binding overhead of `call_tool("get_customer")`: the same call timed from Python and, in the
   same process and run, from Rust with no Python in the loop; the difference is the binding.
2. Streaming: events handed from Rust to Python (a replayed stream: the binding alone), and a
   whole chat turn of many text deltas from the fake Gemini server consumed with `for`, with
   `async for`, and in Rust (the ceiling the model pipeline allows).
3. `call_tool("list_customers")` through the wheel against the same query through a FastMCP tool
   called in-process (FastMCP's in-memory client, Python's sqlite3 on the same database file).

Build the release wheel first: `scripts/python-binding --release`, then
`.venv/bin/python bindings-python/bench/bench.py [--quick]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pathlib
import sqlite3
import statistics
import subprocess
import tempfile
import time

import crm_agent

ROOT = pathlib.Path(__file__).resolve().parents[2]
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))


def fake_gemini(folder: pathlib.Path) -> tuple[subprocess.Popen, str]:
    bin_dir = pathlib.Path(os.environ.get("CRM_AGENT_BIN_DIR", TARGET / "debug"))
    binary = os.environ.get("FAKE_GEMINI_BIN", str(bin_dir.parent / "release/fake-gemini"))
    if not pathlib.Path(binary).exists():
        binary = str(bin_dir / "fake-gemini")
    script = folder / "script.json"
    script.write_text(json.dumps({"turns": []}))
    process = subprocess.Popen(
        [binary, "--script", str(script), "--exit-on-stdin-eof"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    return process, process.stdout.readline().strip().removeprefix("FAKE_GEMINI_URL=")


def set_script(url: str, turns: list[dict]) -> None:
    import urllib.request

    request = urllib.request.Request(url + "/_fake/reset", data=json.dumps({"turns": turns}).encode(), method="POST")
    request.add_header("content-type", "application/json")
    urllib.request.urlopen(request, timeout=10).read()


def per_call(fn, iterations: int) -> float:
    started = time.perf_counter()
    for _ in range(iterations):
        fn()
    return (time.perf_counter() - started) / iterations


def overhead(agent: crm_agent.Agent, ctx: crm_agent.UserContext, rounds: int, iterations: int) -> None:
    customer = agent.call_tool(ctx, "list_customers", {"limit": 1})["items"][0]["id"]
    args = {"customer_id": customer}

    def python_side() -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.thread_time()
        for _ in range(iterations):
            agent.call_tool(ctx, "get_customer", args)
        return (time.perf_counter() - wall) / iterations, (time.thread_time() - cpu) / iterations

    def rust_side() -> tuple[float, float]:
        cpu = time.thread_time()
        wall = agent._time_call_tool_in_rust(ctx, "get_customer", args, iterations)
        return wall, (time.thread_time() - cpu) / iterations

    python, rust = [], []
    for _ in range(rounds):  # interleaved, so both sides see the same machine state
        rust.append(rust_side())
        python.append(python_side())
    # Both sides drive the call on this thread (the binding blocks on the runtime here), so the
    # CPU time of this thread per call is the work the binding adds, free of the scheduling
    # noise of a shared 2-core machine that dominates wall time.
    cpu_extra = [(p[1] - r[1]) * 1e6 for p, r in zip(python, rust, strict=True)]
    wall_extra = [(p[0] - r[0]) * 1e6 for p, r in zip(python, rust, strict=True)]
    median = statistics.median
    print(
        f"call_tool(get_customer): wall {median(p[0] for p in python) * 1e6:.1f} µs/call from Python, "
        f"{median(r[0] for r in rust) * 1e6:.1f} µs/call in Rust; CPU of the calling thread "
        f"{median(p[1] for p in python) * 1e6:.1f} vs {median(r[1] for r in rust) * 1e6:.1f} µs/call"
    )
    print(
        f"  binding overhead: {median(cpu_extra):.1f} µs/call of CPU (median of {rounds} paired rounds of "
        f"{iterations} calls; wall-time difference {median(wall_extra):.1f} µs, noisy)"
    )


def streaming(agent: crm_agent.Agent, ctx: crm_agent.UserContext, url: str, deltas: int) -> None:
    text = "x" * deltas
    set_script(url, [{"times": 0, "reply": {"text": text, "chunk_size": 1}}])

    def sync_run() -> tuple[int, float]:
        started = time.perf_counter()
        count = sum(1 for _ in agent.chat(ctx, "stream"))
        return count, time.perf_counter() - started

    async def async_run() -> tuple[int, float]:
        started = time.perf_counter()
        count = 0
        async for _ in agent.chat(ctx, "stream"):
            count += 1
        return count, time.perf_counter() - started

    # The binding alone: events already produced in Rust, handed to Python one by one.
    replayed = [{"type": "text", "delta": "x"}] * (deltas * 4)

    def replay_run() -> tuple[int, float]:
        stream = crm_agent.ChatStream.replay(replayed)
        started = time.perf_counter()
        count = sum(1 for _ in stream)
        return count, time.perf_counter() - started

    async def replay_async_run() -> tuple[int, float]:
        stream = crm_agent.ChatStream.replay(replayed)
        started = time.perf_counter()
        count = 0
        async for _ in stream:
            count += 1
        return count, time.perf_counter() - started

    for label, run in [
        ("replayed, Python for", replay_run),
        ("replayed, Python async for", lambda: asyncio.run(replay_async_run())),
        ("Rust (no Python)", lambda: agent._time_chat_in_rust(ctx, "stream")),
        ("Python for", sync_run),
        ("Python async for", lambda: asyncio.run(async_run())),
    ]:
        rates = []
        for _ in range(3):
            count, seconds = run()
            rates.append(count / seconds)
        print(f"streaming {count} events, {label}: {statistics.median(rates):,.0f} events/s")


def fastmcp_comparison(agent: crm_agent.Agent, ctx: crm_agent.UserContext, db_path: str, iterations: int) -> None:
    from fastmcp import Client, FastMCP

    conn = sqlite3.connect(db_path, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    organization = ctx.organization_id
    peer = FastMCP("crm-peer")

    @peer.tool
    def list_customers(limit: int = 20) -> dict:
        """The organization's customers, newest first, with the total."""
        rows = conn.execute(
            "SELECT * FROM customers WHERE organization_id = ? ORDER BY created_at DESC, id DESC LIMIT ?",
            (organization, limit),
        ).fetchall()
        total = conn.execute("SELECT COUNT(*) FROM customers WHERE organization_id = ?", (organization,)).fetchone()[0]
        items = []
        for row in rows:
            record = dict(row)
            for key in ("tags", "custom_fields"):
                if isinstance(record.get(key), str):
                    record[key] = json.loads(record[key])
            items.append(record)
        return {"items": items, "total": total}

    async def peer_loop() -> float:
        async with Client(peer) as client:
            assert (await client.call_tool("list_customers", {"limit": 20})).data["total"] > 0
            started = time.perf_counter()
            for _ in range(iterations):
                await client.call_tool("list_customers", {"limit": 20})
            return (time.perf_counter() - started) / iterations

    async def wheel_loop() -> float:
        started = time.perf_counter()
        for _ in range(iterations):
            await agent.call_tool_async(ctx, "list_customers", {"limit": 20})
        return (time.perf_counter() - started) / iterations

    wheel_sync = per_call(lambda: agent.call_tool(ctx, "list_customers", {"limit": 20}), iterations)
    wheel_async = asyncio.run(wheel_loop())
    fastmcp = asyncio.run(peer_loop())
    print(
        f"list_customers(limit 20): wheel {wheel_sync * 1e6:.0f} µs/call (sync), {wheel_async * 1e6:.0f} µs/call "
        f"(async); FastMCP in-process {fastmcp * 1e6:.0f} µs/call; FastMCP / wheel = {fastmcp / wheel_sync:.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small numbers, for the test suite")
    quick = parser.parse_args().quick
    with tempfile.TemporaryDirectory() as folder:
        db_path = os.path.join(folder, "crm.db")
        process, url = fake_gemini(pathlib.Path(folder))
        try:
            agent = crm_agent.Agent(database=f"sqlite://{db_path}", gemini_api_key="bench", gemini_base_url=url)
            agent.seed_demo()
            ctx = agent.context("acme-owner")
            overhead(agent, ctx, rounds=3 if quick else 60, iterations=20 if quick else 200)
            streaming(agent, ctx, url, deltas=500 if quick else 50_000)
            fastmcp_comparison(agent, ctx, db_path, iterations=20 if quick else 500)
        finally:
            if process.stdin:
                process.stdin.close()
            process.wait(timeout=10)


if __name__ == "__main__":
    main()
