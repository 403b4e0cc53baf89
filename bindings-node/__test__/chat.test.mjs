// Chat turns streamed into JavaScript against the fake Gemini server: a whole turn with a tool
// call, confirmations, conversations, cancellation (`break`, `cancel()`, an AbortSignal), model
// errors, and 1,000 concurrent chats in one process.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { ConflictError, NotFoundError, sseEncode } from '../index.mjs';
import { collect, seededAgent, startFakeGemini, textOf } from './helpers.mjs';

let fake;
let agent;
let ctx;

before(async () => {
  fake = await startFakeGemini();
  ({ agent, ctx } = await seededAgent({ geminiBaseUrl: fake.url }));
});

after(async () => {
  await agent?.close();
  fake?.stop();
});

const STATS_TURNS = [
  {
    when: { user_text_contains: 'how many customers' },
    reply: { function_calls: [{ name: 'get_customer_stats', args: {} }], signatures: true },
  },
  {
    when: { function_response: 'get_customer_stats' },
    reply: { text: 'You have **twelve** customers, most of them active.', chunk_size: 6 },
  },
];

describe('a whole turn', () => {
  test('events arrive in order, typed, and the conversation is stored', async () => {
    await fake.setTurns(STATS_TURNS);
    const events = await collect(agent.chat(ctx.owner, 'So, how many customers do we have?'));
    const types = events.map((e) => e.type);
    assert.equal(types[0], 'started');
    assert.equal(types.at(-1), 'done');
    assert.deepEqual(types.filter((t) => t !== 'text'), ['started', 'tool_call', 'tool_result', 'done']);
    const call = events.find((e) => e.type === 'tool_call');
    assert.equal(call.name, 'get_customer_stats');
    assert.deepEqual(call.args, {});
    const result = events.find((e) => e.type === 'tool_result');
    assert.equal(result.ok, true);
    assert.equal(result.id, call.id);
    assert.equal(textOf(events), 'You have **twelve** customers, most of them active.');
    assert.ok(events.filter((e) => e.type === 'text').length > 3, 'text is streamed in pieces');
    const done = events.at(-1);
    assert.equal(done.usage.steps, 2);
    assert.ok(done.usage.total_tokens > 0);
    for (const event of events) assert.ok(sseEncode(event).startsWith(`event: ${event.type}\ndata: {`));
    assert.deepEqual(await fake.violations(), []);

    const conversationId = events[0].conversation_id;
    const page = await agent.conversations(ctx.owner);
    assert.ok(page.items.some((c) => c.id === conversationId));
    const detail = await agent.conversation(ctx.owner, conversationId);
    assert.deepEqual(
      detail.messages.map((m) => m.role),
      ['user', 'model', 'tool', 'model'],
    );
    assert.equal(detail.has_more, false);
    // Conversations belong to their user.
    await assert.rejects(agent.conversation(ctx.rep, conversationId), NotFoundError);

    // The next turn continues the same conversation.
    await fake.addTurns([{ when: { user_text_contains: 'thanks' }, reply: { text: 'You are welcome.' } }]);
    const more = await collect(agent.chat(ctx.owner, 'thanks', { conversationId }));
    assert.equal(more[0].conversation_id, conversationId);
    assert.equal(textOf(more), 'You are welcome.', JSON.stringify(more));
    const requests = await fake.requests();
    assert.ok(requests.at(-1).body.contents.length >= 5, 'the stored history went with the request');
    assert.equal((await agent.conversation(ctx.owner, conversationId)).messages.length, 6);

    const renamed = await agent.renameConversation(ctx.owner, conversationId, '  Customer count  ');
    assert.equal(renamed.title, 'Customer count');
    await agent.deleteConversation(ctx.owner, conversationId);
    await assert.rejects(agent.conversation(ctx.owner, conversationId), NotFoundError);
  });

  test('a write waits for confirmation; confirm runs it once, reject never', async () => {
    await fake.setTurns([
      {
        when: { user_text_contains: 'add a customer' },
        times: 0,
        reply: { function_calls: [{ name: 'create_customer', args: { name: 'Zephyr Labs' } }], signatures: true },
      },
      {
        when: { function_response: 'create_customer' },
        times: 0,
        reply: { text: 'Please confirm the new customer.' },
      },
    ]);
    const events = await collect(agent.chat(ctx.owner, 'please add a customer called Zephyr Labs'));
    const asked = events.find((e) => e.type === 'confirmation_required');
    assert.ok(asked, JSON.stringify(events));
    assert.equal(asked.tool, 'create_customer');
    assert.deepEqual(asked.args, { name: 'Zephyr Labs' });
    assert.ok(Date.parse(asked.expires_at) > Date.now());
    assert.equal(events.at(-1).type, 'done');

    const pending = await agent.pendingActions(ctx.owner, { status: 'pending' });
    assert.ok(pending.items.some((a) => a.id === asked.action_id));
    await assert.rejects(agent.confirm(ctx.rep, asked.action_id), NotFoundError, 'only its user may confirm it');
    const confirmed = await agent.confirm(ctx.owner, asked.action_id);
    assert.equal(confirmed.action.status, 'succeeded');
    assert.equal(confirmed.result.name, 'Zephyr Labs');
    await assert.rejects(agent.confirm(ctx.owner, asked.action_id), ConflictError);
    const found = await agent.callTool(ctx.owner, 'get_customer', { customer_id: confirmed.result.id });
    assert.equal(found.name, 'Zephyr Labs');

    const again = await collect(agent.chat(ctx.owner, 'add a customer again'));
    const second = again.find((e) => e.type === 'confirmation_required');
    const rejected = await agent.reject(ctx.owner, second.action_id);
    assert.equal(rejected.status, 'rejected');
    await assert.rejects(agent.confirm(ctx.owner, second.action_id), ConflictError);
  });

  test('model failures end the turn with an error event, not an exception', async () => {
    await fake.setTurns([{ reply: { error: { status: 400, message: 'bad request' } } }]);
    const events = await collect(agent.chat(ctx.owner, 'anything'));
    const last = events.at(-1);
    assert.equal(last.type, 'error');
    assert.equal(last.code, 'model');
    assert.equal(last.retryable, false);

    const empty = await collect(agent.chat(ctx.owner, '   '));
    assert.deepEqual(empty.map((e) => e.type), ['error']);
    assert.equal(empty[0].code, 'invalid_argument');
  });
});

describe('cancellation', () => {
  const SLOW = { text: 'word '.repeat(40), chunk_size: 5, chunk_delay_ms: 25 };

  test('break cancels the turn: the answer is abandoned, not stored', async () => {
    await fake.setTurns([{ reply: SLOW }]);
    let conversationId;
    let texts = 0;
    for await (const event of agent.chat(ctx.owner, 'talk slowly')) {
      if (event.type === 'started') conversationId = event.conversation_id;
      if (event.type === 'text' && ++texts === 2) break;
    }
    // The cancelled turn hangs up on the model, then stores what it keeps in one write: wait for
    // both, and that write must be the question alone.
    await fake.waitForStream('abandoned');
    const deadline = Date.now() + 10_000;
    let detail = await agent.conversation(ctx.owner, conversationId);
    while (detail.messages.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      detail = await agent.conversation(ctx.owner, conversationId);
    }
    assert.deepEqual(detail.messages.map((m) => m.role), ['user'], 'the model\'s answer was never stored');
  });

  test('cancel() ends a turn that waits for the model, at once', async () => {
    await fake.setTurns([{ reply: { text: 'late', first_byte_delay_ms: 10_000 } }]);
    const turn = agent.chat(ctx.owner, 'wait for it');
    const started = Date.now();
    setTimeout(() => turn.cancel(), 100);
    const events = await collect(turn);
    assert.ok(Date.now() - started < 2_000, 'cancel did not wait for the model');
    assert.deepEqual(events.map((e) => e.type).filter((t) => t !== 'started'), []);
  });

  test('an AbortSignal cancels the turn', async () => {
    await fake.setTurns([{ reply: { text: 'late', first_byte_delay_ms: 10_000 } }]);
    const controller = new AbortController();
    const turn = agent.chat(ctx.owner, 'wait again', { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    await collect(turn);
    assert.ok(Date.now() - started < 2_000);
    const aborted = new AbortController();
    aborted.abort();
    assert.deepEqual(await collect(agent.chat(ctx.owner, 'never', { signal: aborted.signal })), []);
  });
});

describe('load', () => {
  test('1,000 concurrent chats in one process all complete', async () => {
    await fake.setTurns([{ times: 0, reply: { text: 'Hello from the fake model.', chunk_size: 6 } }], { record_bodies: false });
    const started = Date.now();
    const turns = Array.from({ length: 1_000 }, (_, i) => collect(agent.chat(ctx.rep, `hello number ${i}`)));
    const results = await Promise.all(turns);
    const seconds = (Date.now() - started) / 1000;
    const done = results.filter((events) => events.at(-1)?.type === 'done');
    assert.equal(done.length, 1_000, JSON.stringify(results.find((events) => events.at(-1)?.type !== 'done')));
    for (const events of results) assert.equal(textOf(events), 'Hello from the fake model.');
    const ids = new Set(results.map((events) => events[0].conversation_id));
    assert.equal(ids.size, 1_000);
    console.log(`# 1,000 concurrent chats: ${seconds.toFixed(2)} s`);
  });
});
