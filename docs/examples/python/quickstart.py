"""docs/python.md, "Quick start": open an agent, call a tool, stream a chat turn.

With GEMINI_API_KEY set the turn is answered by Gemini (the tests point GEMINI_BASE_URL at the
fake Gemini server); without it, the turn ends with an error event saying so.
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
    elif event["type"] == "tool_result":
        print(f"[{event['name']}: {event['summary']}]")
    elif event["type"] == "confirmation_required":
        print(f"[needs confirmation: {event['summary']}] -> agent.confirm(ctx, {event['action_id']!r})")
    elif event["type"] == "done":
        print(f"\n({event['usage']['steps']} model steps)")
    elif event["type"] == "error":
        print(f"\nturn failed ({event['code']}): {event['message']}")
