"""The examples of docs/python.md are real files; each must run and print what the doc says."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest
from conftest import FakeGemini

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "docs/examples/python"


def run_example(name: str, fake: FakeGemini) -> str:
    env = {**os.environ, "GEMINI_API_KEY": "doc-key", "GEMINI_BASE_URL": fake.url}
    done = subprocess.run([sys.executable, str(EXAMPLES / name)], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_quickstart(fake: FakeGemini) -> None:
    fake.script(
        [
            {"reply": {"function_calls": [{"name": "get_customer_stats", "args": {}}], "signatures": True}},
            {"when": {"function_response": "get_customer_stats"}, "reply": {"text": "You have 60 customers."}},
        ]
    )
    out = run_example("quickstart.py", fake)
    assert "customers, first:" in out
    assert "[calling get_customer_stats]" in out and "You have 60 customers." in out and "(2 model steps)" in out


def test_quickstart_without_a_gemini_key_says_why_chat_failed() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEMINI_")}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "quickstart.py")], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "customers, first:" in done.stdout
    assert "turn failed (model_not_configured)" in done.stdout and "GEMINI_API_KEY" in done.stdout, done.stdout


def test_async_chat(fake: FakeGemini) -> None:
    fake.script([{"times": 0, "reply": {"text": "Doing well."}}])
    out = run_example("async_chat.py", fake)
    assert out.count("Doing well.") == 3 and "chat available: True" in out


@pytest.mark.parametrize("name", ["host_store.py"])
def test_host_store(fake: FakeGemini, name: str) -> None:
    out = run_example(name, fake)
    assert "created Initech" in out and "'create_customer'" in out and "no deals here" in out
