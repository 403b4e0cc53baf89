"""docs/python.md, "Async": the same calls from an asyncio application, and many chats at once."""

import asyncio

import crm_agent


async def ask(agent: crm_agent.Agent, ctx: crm_agent.UserContext, question: str) -> str:
    answer = []
    async for event in agent.chat(ctx, question):
        if event["type"] == "text":
            answer.append(event["delta"])
        elif event["type"] == "confirmation_required":
            # A write waits for the user; a host shows a card and calls confirm_async / reject_async.
            await agent.reject_async(ctx, event["action_id"])
    return "".join(answer)


async def main() -> None:
    agent = crm_agent.Agent(database="sqlite::memory:")
    agent.seed_demo()
    ctx = agent.context("acme-rep")
    stats = await agent.call_tool_async(ctx, "get_customer_stats")
    print("customers:", stats["total"])
    answers = await asyncio.gather(*(ask(agent, ctx, f"Question {i}: how are we doing?") for i in range(3)))
    for answer in answers:
        print(answer)
    status = await agent.status_async(ctx)
    print("chat available:", status["available"])


asyncio.run(main())
