// The Agent API without a model: opening, tools, direct tool calls, conversations, status,
// error classes and codes, SSE encoding, both module systems.

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';

import {
  Agent,
  ConflictError,
  CrmAgentError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  UnavailableError,
  compatEncode,
  compatStatus,
  sseEncode,
} from '../index.mjs';
import { seededAgent } from './helpers.mjs';

let agent;
let ctx;

before(async () => {
  ({ agent, ctx } = await seededAgent());
});

after(async () => {
  await agent?.close();
});

/** Asserts that `promise` rejects with `Class` and `code`. */
async function rejects(promise, Class, code) {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof Class, `${error?.constructor?.name}: ${error?.message} is not a ${Class.name}`);
    assert.ok(error instanceof CrmAgentError);
    assert.ok(error instanceof Error);
    assert.equal(error.code, code);
    assert.equal(typeof error.message, 'string');
    assert.ok(!error.message.includes('\u0001'), 'the internal tag never shows');
    return true;
  });
}

describe('Agent.open', () => {
  test('the constructor is private', () => {
    assert.throws(() => new Agent(), TypeError);
  });

  test('unknown options, a bad database URL and a bad policy are INVALID_ARGUMENT', async () => {
    await rejects(Agent.open({ apiKey: 'x' }), InvalidArgumentError, 'INVALID_ARGUMENT');
    await rejects(Agent.open({ database: 'mysql://nope' }), InvalidArgumentError, 'INVALID_ARGUMENT');
    await rejects(Agent.open({ policy: 'this is [not toml' }), InvalidArgumentError, 'INVALID_ARGUMENT');
    await rejects(Agent.open({ confirmation: 'sometimes' }), InvalidArgumentError, 'INVALID_ARGUMENT');
    await rejects(Agent.open({ toolsets: ['nope'] }), InvalidArgumentError, 'INVALID_ARGUMENT');
    await rejects(Agent.open({ maxSteps: 'many' }), InvalidArgumentError, 'INVALID_ARGUMENT');
    await rejects(Agent.open(null), InvalidArgumentError, 'INVALID_ARGUMENT');
  });

  test('options shape the agent: toolsets, model name', async () => {
    const small = await Agent.open({ toolsets: ['customers'], model: 'gemini-test-model', geminiApiKey: '' });
    try {
      await small.seedDemo({ customers: 2, leads: 1, deals: 1, issues: 1, orders: 1, activities: 1 });
      const owner = await small.resolveContext('acme-owner');
      const names = (await small.tools(owner)).map((t) => t.name);
      assert.ok(names.includes('list_customers'));
      assert.ok(!names.includes('list_deals'), 'the sales toolset is off');
      const status = await small.status(owner);
      assert.equal(status.model, 'gemini-test-model');
      assert.equal(status.api_key_configured, false);
      assert.equal(status.available, false);
    } finally {
      await small.close();
    }
  });
});

describe('tools and callTool', () => {
  test('tools(ctx) depends on who asks', async () => {
    const owner = await agent.tools(ctx.owner);
    const customer = await agent.tools(ctx.customer);
    assert.ok(owner.length > customer.length);
    const getCustomer = owner.find((t) => t.name === 'get_customer');
    assert.equal(getCustomer.annotations.read_only, true);
    assert.equal(owner.find((t) => t.name === 'create_customer').annotations.read_only, false);
    assert.equal(getCustomer.parameters.type, 'object');
    assert.ok(getCustomer.title.length > 0 && getCustomer.description.length > 0);
    assert.ok(!customer.some((t) => t.name === 'list_leads'), 'customers never see leads');
  });

  test('callTool runs a tool and answers plain data', async () => {
    const page = await agent.callTool(ctx.owner, 'list_customers', { limit: 5 });
    assert.equal(page.items.length, 5);
    const first = page.items[0];
    const one = await agent.callTool(ctx.owner, 'get_customer', { customer_id: first.id });
    assert.equal(one.id, first.id);
    assert.equal(one.name, first.name);
    const created = await agent.callTool(ctx.owner, 'create_customer', { name: 'Node Test Ltd', email: 'n@example.com' });
    assert.equal(created.name, 'Node Test Ltd');
    assert.equal((await agent.callTool(ctx.owner, 'get_customer', { customer_id: created.id })).email, 'n@example.com');
  });

  test('tenants are isolated: another organization\'s id is NOT_FOUND', async () => {
    const mine = await agent.callTool(ctx.globex, 'list_customers', { limit: 1 });
    await rejects(agent.callTool(ctx.owner, 'get_customer', { customer_id: mine.items[0].id }), NotFoundError, 'NOT_FOUND');
  });

  test('error codes: NOT_FOUND, PERMISSION_DENIED, INVALID_ARGUMENT', async () => {
    await rejects(agent.callTool(ctx.owner, 'get_customer', { customer_id: 'cus_nope' }), NotFoundError, 'NOT_FOUND');
    await rejects(agent.callTool(ctx.owner, 'no_such_tool', {}), NotFoundError, 'NOT_FOUND');
    await rejects(agent.callTool(ctx.customer, 'list_leads', {}), PermissionDeniedError, 'PERMISSION_DENIED');
    await rejects(agent.callTool(ctx.owner, 'get_customer', { customer_id: 42 }), InvalidArgumentError, 'INVALID_ARGUMENT');
    await rejects(agent.callTool(ctx.owner, 'list_customers', { limit: 'x' }), InvalidArgumentError, 'INVALID_ARGUMENT');
  });

  test('a malformed context is INVALID_ARGUMENT, thrown or rejected but never raw', async () => {
    await rejects(agent.callTool({ userId: 'u' }, 'list_customers', {}), InvalidArgumentError, 'INVALID_ARGUMENT');
    await rejects(agent.callTool({ ...ctx.owner, role: 'admin' }, 'list_customers', {}), InvalidArgumentError, 'INVALID_ARGUMENT');
    await rejects(agent.callTool({ ...ctx.owner, grants: ['nonsense'] }, 'list_customers', {}), InvalidArgumentError, 'INVALID_ARGUMENT');
    await rejects(agent.tools({}), InvalidArgumentError, 'INVALID_ARGUMENT');
    assert.throws(() => agent.chat({ userId: 'u' }, 'hi'), InvalidArgumentError);
    assert.throws(() => agent.chat(ctx.owner, 42), InvalidArgumentError);
  });

  test('customers never see staff fields of their own records', async () => {
    const own = ctx.customer.customerId;
    await agent.callTool(ctx.owner, 'update_customer', { customer_id: own, notes: 'INTERNAL: slow payer', credit_limit: 5000 });
    const seen = await agent.callTool(ctx.customer, 'get_customer', { customer_id: own });
    assert.equal(seen.id, own);
    for (const field of ['notes', 'credit_limit', 'assigned_to']) assert.ok(!(field in seen), field);
    assert.equal((await agent.callTool(ctx.owner, 'get_customer', { customer_id: own })).notes, 'INTERNAL: slow payer');
    await rejects(agent.callTool(ctx.customer, 'list_orders', { search: 'slow' }), PermissionDeniedError, 'PERMISSION_DENIED');
  });

  test('a customer login without a customer record sees nothing', async () => {
    const orphan = { ...ctx.customer, customerId: null };
    await rejects(agent.callTool(orphan, 'list_issues', {}), PermissionDeniedError, 'PERMISSION_DENIED');
  });

  test('a context built by hand works like a resolved one', async () => {
    const byHand = { userId: 'someone', organizationId: ctx.owner.organizationId, role: 'owner', displayName: 'Someone' };
    const page = await agent.callTool(byHand, 'list_customers', { limit: 1 });
    assert.equal(page.items.length, 1);
    const employee = { userId: 'e', organizationId: ctx.owner.organizationId, role: 'employee', grants: ['customer:read'] };
    await agent.callTool(employee, 'list_customers', { limit: 1 });
    await rejects(agent.callTool(employee, 'list_deals', {}), PermissionDeniedError, 'PERMISSION_DENIED');
  });

  test('a context is read under the policy: its host role names and system roles', async () => {
    const policy = '[role_names]\nmanager = "employee"\n\n[roles.deal_desk]\ndescription = "Deals only."\ngrants = ["deal:read"]\n';
    const { agent: custom, ctx: customCtx } = await seededAgent({ policy });
    try {
      const organizationId = customCtx.owner.organizationId;
      const desk = { userId: 'd', organizationId, role: 'manager', roles: ['deal_desk'] };
      assert.equal((await custom.callTool(desk, 'list_deals', { limit: 1 })).items.length, 1);
      await rejects(custom.callTool(desk, 'list_customers', {}), PermissionDeniedError, 'PERMISSION_DENIED');
      // Explicit grants add to the roles' grants.
      await custom.callTool({ ...desk, grants: ['customer:read'] }, 'list_customers', { limit: 1 });
      // The built-in policy has neither the host name nor the role.
      await rejects(agent.callTool({ ...desk, organizationId: ctx.owner.organizationId }, 'list_deals', {}), InvalidArgumentError, 'INVALID_ARGUMENT');
      await assert.rejects(custom.callTool({ ...desk, roles: ['pirate'] }, 'list_deals', {}), /unknown role `pirate`/);
    } finally {
      await custom.close();
    }
  });
});

describe('context, status, conversations, actions', () => {
  test('resolveContext: the demo users, and unknown ones', async () => {
    assert.equal(ctx.owner.role, 'owner');
    assert.equal(ctx.customer.role, 'customer');
    assert.ok(ctx.customer.customerId);
    assert.ok(ctx.rep.grants.length > 0);
    await rejects(agent.resolveContext('nobody'), NotFoundError, 'NOT_FOUND');
    const bySlug = await agent.resolveContext('acme-owner', { organization: 'acme' });
    assert.equal(bySlug.organizationId, ctx.owner.organizationId);
  });

  test('status reports the model and the user', async () => {
    const status = await agent.status(ctx.rep);
    assert.equal(status.api_key_configured, true);
    assert.equal(status.user.user_id, 'acme-rep');
    assert.equal(status.user.organization_name, 'Acme Corporation');
    assert.equal(status.tool_count, (await agent.tools(ctx.rep)).length);
  });

  test('conversations: empty lists, unknown ids', async () => {
    const page = await agent.conversations(ctx.support, { limit: 5 });
    assert.deepEqual(page, { items: [], total: 0, next_cursor: null });
    await rejects(agent.conversation(ctx.support, 'conv_nope'), NotFoundError, 'NOT_FOUND');
    await rejects(agent.renameConversation(ctx.support, 'conv_nope', 'x'), NotFoundError, 'NOT_FOUND');
    await rejects(agent.deleteConversation(ctx.support, 'conv_nope'), NotFoundError, 'NOT_FOUND');
    await rejects(agent.confirm(ctx.support, 'act_nope'), NotFoundError, 'NOT_FOUND');
    await rejects(agent.reject(ctx.support, 'act_nope'), NotFoundError, 'NOT_FOUND');
    assert.equal((await agent.pendingActions(ctx.support)).total, 0);
    await rejects(agent.pendingActions(ctx.support, { status: 'maybe' }), InvalidArgumentError, 'INVALID_ARGUMENT');
  });
});

describe('sseEncode and compatEncode', () => {
  test('the core\'s encodings', () => {
    assert.equal(sseEncode({ type: 'text', delta: 'a\nb' }), 'event: text\ndata: {"type":"text","delta":"a\\nb"}\n\n');
    const done = { type: 'done', usage: { prompt_tokens: 1, output_tokens: 2, total_tokens: 3, steps: 1 } };
    assert.equal(sseEncode(done), `event: done\ndata: ${JSON.stringify(done)}\n\n`);
    assert.deepEqual(compatEncode({ type: 'text', delta: 'hi' }), { type: 'message', content: 'hi' });
    assert.equal(compatEncode({ type: 'tool_result', id: '1', name: 'x', ok: true, summary: 's' }), null);
    assert.throws(() => sseEncode({ type: 'nonsense' }), InvalidArgumentError);
  });

  test('the older frontend\'s status', async () => {
    const status = compatStatus(await agent.status(ctx.rep));
    assert.deepEqual(Object.keys(status).sort(), ['api_key_configured', 'available', 'model', 'user_context']);
    assert.equal(status.user_context.role, 'employee');
    assert.ok(status.user_context.permissions_count > 0 && status.user_context.permissions_count < 52);
    assert.throws(() => compatStatus({ model: 'm' }), InvalidArgumentError);
  });
});

describe('modules and close', () => {
  test('CommonJS and ESM give the same module', () => {
    const require = createRequire(import.meta.url);
    const cjs = require('../index.cjs');
    assert.equal(cjs.Agent, Agent);
    assert.equal(cjs.NotFoundError, NotFoundError);
    const byName = require('crm-agent');
    assert.equal(byName.Agent, Agent);
  });

  test('error classes can be made by hosts too', () => {
    const error = new ConflictError('taken');
    assert.equal(error.code, 'CONFLICT');
    assert.equal(error.name, 'ConflictError');
    assert.equal(error.retryable, false);
  });

  test('after close every call is UNAVAILABLE; close twice is fine', async () => {
    const other = await Agent.open();
    await other.close();
    await other.close();
    await rejects(other.status(ctx.owner), UnavailableError, 'UNAVAILABLE');
    await rejects(other.callTool(ctx.owner, 'list_customers', {}), UnavailableError, 'UNAVAILABLE');
    assert.throws(() => other.chat(ctx.owner, 'hi'), UnavailableError);
  });
});
