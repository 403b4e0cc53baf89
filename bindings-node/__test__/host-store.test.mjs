// An agent over a store implemented in JavaScript: calls reach the store, tools follow what it
// implements, its exceptions come back to the caller as the very same objects, a synchronous
// throw does not crash anything, and the model sees a failing tool as a failed tool call.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Agent, StoreError } from '../index.mjs';
import { collect, startFakeGemini } from './helpers.mjs';
import { MemoryStore, StoreFailure } from './memory-store.mjs';

let fake;
let store;
let agent;
let org;
let owner;
let customerUser;

class DatabaseDown extends Error {}

before(async () => {
  fake = await startFakeGemini();
  store = new MemoryStore();
  agent = await Agent.open({ store, geminiBaseUrl: fake.url, geminiApiKey: 'k' });
  org = await agent.ensureOrganization({ name: 'Host Co', slug: 'host-co' });
  owner = { userId: 'host-owner', organizationId: org.id, role: 'owner', displayName: 'Hana Host' };
  const scope = { organization_id: org.id, customer_id: null };
  const alice = store.createCustomer({ scope, new: { name: 'Alice Appleby', email: 'alice@example.com' } });
  store.createCustomer({ scope, new: { name: 'Bob Brown' } });
  customerUser = { userId: 'alice', organizationId: org.id, role: 'customer', customerId: alice.id };
});

after(async () => {
  await agent?.close();
  fake?.stop();
});

describe('a JavaScript store behind the agent', () => {
  test('ensureOrganization is idempotent', async () => {
    const again = await agent.ensureOrganization({ name: 'Host Co', slug: 'host-co' });
    assert.equal(again.id, org.id);
  });

  test('tool calls reach the store, inside the caller\'s scope', async () => {
    const before = store.calls.get('listCustomers') ?? 0;
    const page = await agent.callTool(owner, 'list_customers', {});
    assert.equal(page.total, 2);
    assert.equal(store.calls.get('listCustomers'), before + 1);
    const own = await agent.callTool(customerUser, 'list_customers', {});
    assert.deepEqual(own.items.map((c) => c.name), ['Alice Appleby']);
    const created = await agent.callTool(owner, 'create_issue', { title: 'Printer on fire', customer_id: own.items[0].id });
    assert.match(created.number, /^ISS-\d{4}-0001$/);
    const mine = await agent.callTool(customerUser, 'list_issues', {});
    assert.equal(mine.total, 1);
  });

  test('tools follow what the store implements', async () => {
    const names = new Set((await agent.tools(owner)).map((t) => t.name));
    for (const name of ['list_customers', 'get_customer', 'create_customer', 'list_issues', 'list_employees']) {
      assert.ok(names.has(name), name);
    }
    for (const name of ['list_leads', 'list_deals', 'list_orders', 'list_activities']) {
      assert.ok(!names.has(name), `${name} needs methods the store lacks`);
    }
  });

  test('the store\'s own error object comes back unchanged (async, sync, non-Error values)', async () => {
    const failing = new DatabaseDown('the database is down');
    try {
      store.getCustomer = async () => {
        throw failing;
      };
      await assert.rejects(agent.callTool(owner, 'get_customer', { customer_id: 'x' }), (error) => error === failing);

      store.listCustomers = () => {
        throw failing; // synchronously, from a sync method
      };
      await assert.rejects(agent.callTool(owner, 'list_customers', {}), (error) => error === failing);

      store.getIssue = () => Promise.reject('plain string'); // eslint-disable-line prefer-promise-reject-errors
      await assert.rejects(agent.callTool(owner, 'get_issue', { issue_id: 'iss_1' }), (error) => error === 'plain string');

      const coded = new StoreFailure('NOT_FOUND', 'no such customer here');
      store.getCustomer = () => {
        throw coded;
      };
      await assert.rejects(agent.callTool(owner, 'get_customer', { customer_id: 'y' }), (error) => error === coded);
    } finally {
      delete store.getCustomer;
      delete store.listCustomers;
      delete store.getIssue;
    }
    // Still healthy after all that.
    assert.equal((await agent.callTool(owner, 'list_customers', {})).total, 2);
  });

  test('an answer of the wrong shape is a STORE_ERROR naming the method', async () => {
    store.getCustomer = () => ({ nonsense: true });
    try {
      await assert.rejects(agent.callTool(owner, 'get_customer', { customer_id: 'x' }), (error) => {
        assert.ok(error instanceof StoreError);
        assert.equal(error.code, 'STORE_ERROR');
        assert.match(error.message, /get_customer/);
        return true;
      });
    } finally {
      delete store.getCustomer;
    }
  });

  test('the model sees a failing store call as a failed tool call, and the turn goes on', async () => {
    await fake.setTurns([
      { when: { user_text_contains: 'look up' }, reply: { function_calls: [{ name: 'get_customer', args: { customer_id: 'cus_missing' } }] } },
      { when: { function_response: 'get_customer' }, reply: { text: 'I could not find that customer.' } },
    ]);
    const events = await collect(agent.chat(owner, 'look up customer cus_missing'));
    const result = events.find((e) => e.type === 'tool_result');
    assert.equal(result.ok, false);
    assert.match(result.summary, /not found/i);
    assert.equal(events.at(-1).type, 'done');
    const requests = await fake.requests();
    const response = requests.at(-1).body.contents.at(-1).parts[0].functionResponse.response;
    assert.ok(response.error, JSON.stringify(response));
  });

  test('a partial store: only what it has', async () => {
    const customers = [{ id: 'c1', organization_id: org.id, name: 'Only One' }];
    const partial = {
      listCustomers: () => ({ items: [], total: 0, next_cursor: null }),
      getCustomer: ({ id }) => {
        const found = customers.find((c) => c.id === id);
        if (!found) throw new StoreFailure('NOT_FOUND', `customer not found: ${id}`);
        return found;
      },
    };
    const small = await Agent.open({ store: partial, geminiApiKey: '' });
    try {
      const names = (await small.tools(owner)).map((t) => t.name);
      assert.ok(names.includes('list_customers') && names.includes('get_customer'));
      assert.ok(!names.includes('create_customer'));
      await assert.rejects(small.callTool(owner, 'create_customer', { name: 'x' }), (e) => e.code === 'NOT_FOUND');
    } finally {
      await small.close();
    }
  });

  test('the store must be an object', async () => {
    await assert.rejects(Agent.open({ store: 42 }), (e) => e.code === 'INVALID_ARGUMENT');
  });
});
