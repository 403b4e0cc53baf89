// The Express example over real HTTP (fetch), against the fake Gemini server.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { Agent } from 'crm-agent';

import { startFakeGemini } from '../../../bindings-node/__test__/helpers.mjs';
import { createApp } from '../app.mjs';

let fake;
let agent;
let server;
let base;

const users = new Map([
  ['owner-token', { userId: 'acme-owner' }],
  ['rep-token', { userId: 'acme-rep' }],
  ['customer-token', { userId: 'acme-customer' }],
]);

before(async () => {
  fake = await startFakeGemini();
  agent = await Agent.open({ geminiBaseUrl: fake.url, geminiApiKey: 'test-key' });
  await agent.seedDemo({ customers: 6, leads: 4, deals: 4, issues: 4, orders: 2, activities: 2 });
  server = createApp({ agent, users }).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${server.address().port}`;
});

after(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve()));
  await agent?.close();
  fake?.stop();
});

const call = (path, { token = 'owner-token', body, signal } = {}) =>
  fetch(`${base}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    signal,
  });

/** Reads a Server-Sent Events response into `[{ event, data }]`. */
async function readSse(response) {
  const text = await response.text();
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const lines = block.split('\n');
      const event = lines.find((l) => l.startsWith('event: '))?.slice(7);
      const data = JSON.parse(lines.find((l) => l.startsWith('data: '))?.slice(6));
      return { event, data };
    });
}

test('the app\'s own authentication comes first', async () => {
  const response = await fetch(`${base}/api/status`);
  assert.equal(response.status, 401);
  assert.equal((await call('/api/status', { token: 'wrong' })).status, 401);
});

test('status route: the user the app authenticated', async () => {
  const response = await call('/api/status', { token: 'rep-token' });
  assert.equal(response.status, 200);
  const status = await response.json();
  assert.equal(status.user.user_id, 'acme-rep');
  assert.equal(status.api_key_configured, true);
  assert.ok(status.tool_count > 0);
});

test('chat route: a turn as Server-Sent Events, then the conversation', async () => {
  await fake.setTurns([
    {
      when: { user_text_contains: 'open issues' },
      reply: { function_calls: [{ name: 'list_issues', args: { status: 'open' } }], signatures: true },
    },
    { when: { function_response: 'list_issues' }, reply: { text: 'There are a few open issues.', chunk_size: 5 } },
  ]);
  const response = await call('/api/chat', { body: { message: 'Which open issues do we have?' } });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type'), /^text\/event-stream/);
  const events = await readSse(response);
  assert.deepEqual(
    events.map((e) => e.event).filter((e) => e !== 'text'),
    ['started', 'tool_call', 'tool_result', 'done'],
  );
  for (const { event, data } of events) assert.equal(event, data.type);
  const answer = events.filter((e) => e.event === 'text').map((e) => e.data.delta).join('');
  assert.equal(answer, 'There are a few open issues.');

  const id = events[0].data.conversation_id;
  const list = await (await call('/api/conversations')).json();
  assert.ok(list.items.some((c) => c.id === id));
  const detail = await (await call(`/api/conversations/${id}`)).json();
  assert.equal(detail.messages.length, 4);
  // Someone else's conversation is not found, whatever its id.
  const other = await call(`/api/conversations/${id}`, { token: 'rep-token' });
  assert.equal(other.status, 404);
  assert.equal((await other.json()).code, 'NOT_FOUND');
});

test('confirmations over HTTP', async () => {
  await fake.setTurns([
    {
      when: { user_text_contains: 'new customer' },
      times: 0,
      reply: { function_calls: [{ name: 'create_customer', args: { name: 'Express Ltd' } }], signatures: true },
    },
    { when: { function_response: 'create_customer' }, times: 0, reply: { text: 'Confirm it, please.' } },
  ]);
  const events = await readSse(await call('/api/chat', { body: { message: 'add a new customer, Express Ltd' } }));
  const asked = events.find((e) => e.event === 'confirmation_required').data;
  const confirmed = await call(`/api/actions/${asked.action_id}/confirm`, { body: {} });
  assert.equal(confirmed.status, 200);
  assert.equal((await confirmed.json()).result.name, 'Express Ltd');
  const twice = await call(`/api/actions/${asked.action_id}/confirm`, { body: {} });
  assert.equal(twice.status, 409);
  const customer = await call(`/api/actions/${asked.action_id}/reject`, { token: 'customer-token', body: {} });
  assert.equal(customer.status, 404);
});

test('bad requests are 400 with a code', async () => {
  const notJson = await call('/api/chat', { body: '{nope' });
  assert.equal(notJson.status, 400);
  const noMessage = await call('/api/chat', { body: { text: 'hi' } });
  assert.equal(noMessage.status, 400);
  assert.equal((await noMessage.json()).code, 'INVALID_ARGUMENT');
});

test('a client that disconnects cancels the turn', async () => {
  await fake.setTurns([{ reply: { text: 'word '.repeat(60), chunk_size: 5, chunk_delay_ms: 25 } }]);
  const controller = new AbortController();
  const response = await call('/api/chat', { body: { message: 'talk to me' }, signal: controller.signal });
  const reader = response.body.getReader();
  let seen = '';
  while (!seen.includes('event: text')) seen += new TextDecoder().decode((await reader.read()).value);
  const id = /"conversation_id":"([^"]+)"/.exec(seen)[1];
  controller.abort();
  // The whole answer would take ~1.5 s; a cancelled turn never stores it.
  await sleep(2_000);
  const detail = await (await call(`/api/conversations/${id}`)).json();
  assert.deepEqual(detail.messages.map((m) => m.role), ['user']);
});
