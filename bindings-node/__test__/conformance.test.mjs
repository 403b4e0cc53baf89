// The core's store conformance suite against a store written in JavaScript (employees,
// customers, issues), with the SDK's own in-memory SQLite keeping the rest, as `Agent.open`
// does. Tenant and customer isolation are among the cases.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { runStoreConformance, storeConformanceCases } from '../index.mjs';
import { MemoryStore } from './memory-store.mjs';

/** What the memory store implements, and so must pass (the rest is skipped, or the SDK's own store). */
const MUST_PASS = [
  'customers_crud_and_filters',
  'customer_dates_and_orders',
  'pagination_totals',
  'issues_numbers_and_comments',
  'customer_isolation',
  'issue_isolation',
  // Kept by the SDK's own SQLite beside the JavaScript store:
  'audit_events',
  'conversations_crud_and_pages',
  'pending_action_lifecycle',
  'api_tokens_round_trip',
];

test('a JavaScript store passes the conformance suite for what it implements', async () => {
  const results = await runStoreConformance(() => new MemoryStore());
  assert.deepEqual(results.map((r) => r.name), storeConformanceCases());
  const failed = results.filter((r) => r.outcome === 'failed');
  assert.deepEqual(failed, [], failed.map((r) => `${r.name}: ${r.message}`).join('\n'));
  const passed = new Set(results.filter((r) => r.outcome === 'passed').map((r) => r.name));
  for (const name of MUST_PASS) assert.ok(passed.has(name), `${name} did not run`);
  for (const r of results.filter((r) => r.outcome === 'skipped')) assert.match(r.message, /does not support/);
});

test('a store that ignores the scope fails the isolation cases', async () => {
  class Leaky extends MemoryStore {
    #all = new Map();
    createCustomer(args) {
      const created = super.createCustomer(args);
      this.#all.set(created.id, created);
      return created;
    }
    getCustomer({ id }) {
      return this.#all.get(id) ?? super.getCustomer({ scope: { organization_id: '', customer_id: null }, id });
    }
  }
  const results = await runStoreConformance(async () => new Leaky(), { cases: ['customer_isolation'] });
  assert.equal(results.length, 1);
  assert.equal(results[0].outcome, 'failed');
  assert.match(results[0].message, /get B's customer from A|another customer's record/);
});

test('a factory that fails fails each case; unknown case names are refused', async () => {
  const results = await runStoreConformance(() => {
    throw new Error('no store today');
  }, { cases: ['pagination_totals'] });
  assert.equal(results[0].outcome, 'failed');
  assert.match(results[0].message, /could not create a store/);
  await assert.rejects(runStoreConformance(() => new MemoryStore(), { cases: ['nope'] }), (e) => e.code === 'INVALID_ARGUMENT');
});
