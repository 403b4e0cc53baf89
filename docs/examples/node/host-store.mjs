// A store implemented by the application: here customers only, in a Map. The SDK keeps its
// own records (organizations, conversations, audit, …) in `database`; the tools that need
// what this store lacks (leads, deals, orders, …) are not offered.
import { randomUUID } from 'node:crypto';

import { Agent, runStoreConformance } from 'crm-agent';

/** An error the SDK understands: `code` is a crm-agent error code. */
class NotFound extends Error {
  code = 'NOT_FOUND';
}

class CustomerTable {
  rows = new Map();

  // Every method takes one object of named arguments; `scope` says which organization (and,
  // for customer users, which customer) the caller may see. Never answer outside it.
  visible(scope, row) {
    return row?.organization_id === scope.organization_id && (scope.customer_id == null || row.id === scope.customer_id);
  }

  listCustomers({ scope, filter, page }) {
    const search = filter.search?.toLowerCase();
    const rows = [...this.rows.values()]
      .filter((row) => this.visible(scope, row))
      .filter((row) => filter.status == null || row.status === filter.status)
      .filter((row) => !search || row.name.toLowerCase().includes(search))
      .reverse(); // newest first
    if (page.cursor != null && !/^\d+$/.test(page.cursor)) {
      throw Object.assign(new Error('not a cursor of this store'), { code: 'INVALID_ARGUMENT' });
    }
    const offset = page.cursor ? Number(page.cursor) : 0;
    const items = rows.slice(offset, offset + page.limit);
    const next = offset + page.limit < rows.length ? String(offset + page.limit) : null;
    return { items, total: rows.length, next_cursor: next };
  }

  async getCustomer({ scope, id }) {
    const row = this.rows.get(id);
    if (!this.visible(scope, row)) throw new NotFound(`customer not found: ${id}`);
    return row;
  }

  async createCustomer({ scope, new: fields }) {
    if (scope.customer_id != null) throw Object.assign(new Error('customers may not add customers'), { code: 'PERMISSION_DENIED' });
    const now = new Date().toISOString();
    const row = {
      id: `cus_${randomUUID()}`,
      organization_id: scope.organization_id,
      customer_type: 'individual', company_name: null, email: null, phone: null, address: null, city: null,
      state: null, postal_code: null, country: null, industry: null, website: null, status: 'active',
      assigned_to: null, credit_limit: null, source: null, tags: [], notes: null, converted_from_lead: null,
      user_id: null, custom_fields: {},
      ...fields,
      created_at: now,
      updated_at: now,
    };
    this.rows.set(row.id, row);
    return row;
  }

  async updateCustomer({ scope, id, patch }) {
    if (scope.customer_id != null) throw Object.assign(new Error('customers may not edit customers'), { code: 'PERMISSION_DENIED' });
    const row = await this.getCustomer({ scope, id });
    Object.assign(row, patch, { updated_at: new Date().toISOString() });
    return row;
  }
}

const agent = await Agent.open({ store: new CustomerTable(), database: 'sqlite::memory:' });
// Your tenant, known to crm-agent by its slug (created once, found afterwards).
const org = await agent.ensureOrganization({ name: 'Example Ltd', slug: 'example' });
const ctx = { userId: 'u-1', organizationId: org.id, role: 'owner', displayName: 'Olivia Owner' };

const created = await agent.callTool(ctx, 'create_customer', { name: 'Ada Lovelace', email: 'ada@example.com' });
const listed = await agent.callTool(ctx, 'list_customers', {});
console.log(`created ${created.name}; ${listed.total} customer(s) listed`);
const tools = (await agent.tools(ctx)).map((tool) => tool.name);
console.log(`offers list_customers: ${tools.includes('list_customers')}, list_deals: ${tools.includes('list_deals')}`);

// The store's own errors come back as they were thrown.
try {
  await agent.callTool(ctx, 'get_customer', { customer_id: 'cus_nope' });
} catch (error) {
  console.log(`${error instanceof NotFound ? 'NotFound' : 'other'}: ${error.message}`);
}
await agent.close();

// The SDK's store conformance suite against fresh tables: here its isolation and paging cases
// (a complete customers store runs them all: `runStoreConformance(factory)`).
const results = await runStoreConformance(() => new CustomerTable(), {
  cases: ['customer_isolation', 'pagination_totals'],
});
const count = (outcome) => results.filter((r) => r.outcome === outcome).length;
console.log(`conformance: ${count('passed')} passed, ${count('failed')} failed, ${count('skipped')} skipped`);
for (const r of results.filter((r) => r.outcome === 'failed')) console.log(`  ${r.name}: ${r.message}`);
