"""docs/python.md, "Quick start": open an agent, call a tool, stream a chat turn.

Run with GEMINI_API_KEY set (the tests point GEMINI_BASE_URL at the fake Gemini server).
"""

import crm_agent

# The SDK's own database: a file, `sqlite::memory:`, or `postgresql://...`. Migrated on open.
agent = crm_agent.Agent(database="sqlite::memory:")
agent.seed_demo()  # demo organizations `acme` and `globex`, with people and records

# Who is asking: here a demo user resolved from the store; a host usually builds the
# context from its own session (see "Contexts" in docs/python.md).
ctx = agent.context("acme-owner")

page = agent.call_tool(ctx, "list_customers", {"limit": 3})
print(f"{page['total']} customers, first: {page['items'][0]['name']}")

for event in agent.chat(ctx, "How many customers do we have?"):
    if event["type"] == "text":
        print(event["delta"], end="", flush=True)
    elif event["type"] == "tool_call":
        print(f"[calling {event['name']}]")
    elif event["type"] == "done":
        print(f"\n({event['usage']['steps']} model steps)")
