// An in-memory host store in plain JavaScript: employees, customers and issues (with comments).
// It is what a host application's store looks like (over its own database, an ORM, …): the core
// calls these methods with one object of named arguments and the JSON shapes of
// crm-agent's domain types; every method answers inside `scope` only. The conformance tests run
// the core's suite against it, and the binding tests use it as the store of an agent.
//
// Some methods are async and some are not, on purpose: both kinds must work.

import { randomUUID } from 'node:crypto';

const MAX_SHORT = 200;
const MAX_LONG = 20_000;

/** An error the core understands: `code` is one of crm-agent's error codes. */
export class StoreFailure extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'StoreFailure';
    this.code = code;
  }
}

const notFound = (what, id) => new StoreFailure('NOT_FOUND', `${what} not found: ${id}`);
const invalid = (message) => new StoreFailure('INVALID_ARGUMENT', message);
const denied = (message) => new StoreFailure('PERMISSION_DENIED', message);

function short(field, value, required = false) {
  if (value === null || value === undefined) {
    if (required) throw invalid(`\`${field}\` must not be empty`);
    return;
  }
  if (required && String(value).trim() === '') throw invalid(`\`${field}\` must not be empty`);
  if ([...String(value)].length > MAX_SHORT) throw invalid(`\`${field}\` is longer than ${MAX_SHORT} characters`);
}

function long(field, value) {
  if (value !== null && value !== undefined && [...String(value)].length > MAX_LONG) {
    throw invalid(`\`${field}\` is longer than ${MAX_LONG} characters`);
  }
}

function email(field, value) {
  if (value === null || value === undefined) return;
  short(field, value);
  const at = value.indexOf('@');
  if (at <= 0 || !value.slice(at + 1).includes('.') || /\s/.test(value)) {
    throw invalid(`\`${field}\` is not a valid email address: \`${value}\``);
  }
}

function money(field, value) {
  if (value === null || value === undefined) return;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw invalid(`\`${field}\` must not be negative (got ${value})`);
}

const now = () => new Date().toISOString();

/** An RFC 3339 time as microseconds since the epoch (`Date` alone keeps only milliseconds). */
function instant(text) {
  const [, whole, fraction = '', zone] = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(.*)$/.exec(text);
  return Date.parse(whole + zone) * 1000 + Number(fraction.padEnd(6, '0').slice(0, 6));
}

/**
 * Whether `value` (a time) is in `span` = `{after, before}`: `after` included, `before` not. A
 * span without ends filters nothing; with one, a record without the time is left out.
 */
function inSpan(value, span) {
  const { after, before } = span ?? {};
  if (after == null && before == null) return true;
  if (value == null) return false;
  const at = instant(value);
  return (after == null || at >= instant(after)) && (before == null || at < instant(before));
}

/** Whether `record` is in every span of `filter`; `spans` maps filter keys to fields. */
const inSpans = (record, filter, spans) =>
  Object.entries(spans).every(([key, field]) => inSpan(record[field], filter?.[key]));

/** The fields lists sort by that hold times (compared as instants, not as text). */
const TIMES = new Set(['created_at', 'updated_at', 'resolved_at']);

const compare = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * `records` in the order `sort` = `{field, descending}` asks (absent: newest first), and the
 * order's name for cursors. Records without the field come last either way; ties and those
 * records go by creation, in the same direction.
 */
function sorted(records, sort, fields) {
  const field = sort?.field ?? 'created_at';
  const descending = sort == null ? true : Boolean(sort.descending);
  if (!fields.includes(field)) throw invalid(`cannot sort by \`${field}\``);
  const value = (r) => (TIMES.has(field) ? instant(r[field]) : r[field]);
  const direction = descending ? -1 : 1;
  const byCreation = (a, b) => compare(instant(a.created_at), instant(b.created_at)) || compare(a._seq, b._seq);
  const order = (a, b) => {
    const [missingA, missingB] = [a[field] == null, b[field] == null];
    if (missingA !== missingB) return missingA ? 1 : -1;
    return direction * ((missingA ? 0 : compare(value(a), value(b))) || byCreation(a, b));
  };
  return [[...records].sort(order), `${field}:${descending ? 'desc' : 'asc'}`];
}

/**
 * A page of `items` (already filtered and in `order`) for `page` = `{limit, cursor}`. The cursor
 * is the order and the offset of the next item, so a cursor of another order is refused.
 */
function paginate([items, order], page) {
  const limit = Math.min(Math.max(page?.limit ?? 20, 1), 100);
  let offset = 0;
  if (page?.cursor != null) {
    const match = /^(.*):(\d+)$/.exec(page.cursor);
    if (!match) throw invalid('`cursor` is not a cursor this store made');
    if (match[1] !== order) throw invalid('`cursor` belongs to another order');
    offset = Number(match[2]);
  }
  const slice = items.slice(offset, offset + limit);
  const next = offset + limit < items.length ? `${order}:${offset + limit}` : null;
  return { items: slice.map(strip), total: items.length, next_cursor: next };
}

/** A record without the store's private fields. */
function strip(record) {
  const { _seq, ...rest } = record;
  return structuredClone(rest);
}

/** Applies a patch: a key that is present (even `null`) replaces the field. */
function applyPatch(record, patch) {
  for (const [key, value] of Object.entries(patch ?? {})) record[key] = value;
  record.updated_at = now();
}

/** `custom_fields` filters compare like PostgreSQL's jsonb: same type and value. */
function customFieldsMatch(record, wanted) {
  return Object.entries(wanted ?? {}).every(([key, value]) => {
    const have = record.custom_fields?.[key];
    return have !== undefined && typeof have === typeof value && have === value;
  });
}

const contains = (haystack, needle) => haystack != null && String(haystack).toLowerCase().includes(needle);

export class MemoryStore {
  #employees = new Map();
  #customers = new Map();
  #issues = new Map();
  #comments = [];
  #numbers = new Map();
  #seq = 0;
  /** How many calls each method got (tests look at it). */
  calls = new Map();

  #count(method) {
    this.calls.set(method, (this.calls.get(method) ?? 0) + 1);
  }

  #inScope(record, scope) {
    return record !== undefined && record.organization_id === scope.organization_id;
  }

  #staffOnly(scope, what) {
    if (scope.customer_id != null) throw denied(`customers may not ${what}`);
  }

  #employee(scope, id) {
    const found = this.#employees.get(id);
    if (!this.#inScope(found, scope) || scope.customer_id != null) throw notFound('employee', id);
    return found;
  }

  #customer(scope, id) {
    const found = this.#customers.get(id);
    if (!this.#inScope(found, scope) || (scope.customer_id != null && found.id !== scope.customer_id)) {
      throw notFound('customer', id);
    }
    return found;
  }

  #issue(scope, id) {
    const found = this.#issues.get(id);
    if (!this.#inScope(found, scope) || (scope.customer_id != null && found.customer_id !== scope.customer_id)) {
      throw notFound('issue', id);
    }
    return found;
  }

  // --- employees (async methods) ---------------------------------------------------------------

  async listEmployees({ scope, filter, page }) {
    this.#count('listEmployees');
    if (scope.customer_id != null) return { items: [], total: 0, next_cursor: null };
    const search = filter?.search?.toLowerCase();
    const items = [...this.#employees.values()]
      .filter((e) => e.organization_id === scope.organization_id)
      .filter((e) => filter?.status == null || e.status === filter.status)
      .filter((e) => filter?.department == null || e.department === filter.department)
      .filter((e) => !search || [e.first_name, e.last_name, e.email, e.job_title].some((v) => contains(v, search)))
      .filter((e) => inSpans(e, filter, { created: 'created_at', updated: 'updated_at' }));
    return paginate(sorted(items, filter?.sort, ['created_at', 'last_name', 'hire_date']), page);
  }

  async getEmployee({ scope, id }) {
    this.#count('getEmployee');
    return strip(this.#employee(scope, id));
  }

  async createEmployee({ scope, new: fresh }) {
    this.#count('createEmployee');
    this.#staffOnly(scope, 'create employees');
    short('first_name', fresh.first_name, true);
    short('last_name', fresh.last_name, true);
    email('email', fresh.email);
    money('salary', fresh.salary);
    if (fresh.manager_id != null) this.#employee(scope, fresh.manager_id);
    const at = fresh.created_at ?? now();
    const employee = {
      id: `emp_${randomUUID()}`,
      organization_id: scope.organization_id,
      user_id: null,
      phone: null,
      job_title: null,
      department: null,
      employment_type: 'full_time',
      status: 'active',
      manager_id: null,
      hire_date: null,
      salary: null,
      commission_rate: null,
      emergency_contact: null,
      ...fresh,
      role_ids: [],
      created_at: at,
      updated_at: at,
      _seq: this.#seq++,
    };
    this.#employees.set(employee.id, employee);
    return strip(employee);
  }

  async updateEmployee({ scope, id, patch }) {
    this.#count('updateEmployee');
    this.#staffOnly(scope, 'update employees');
    const employee = this.#employee(scope, id);
    if (patch.manager_id === id) throw invalid('an employee cannot be their own manager');
    if (patch.manager_id != null) this.#employee(scope, patch.manager_id);
    if ('email' in patch) email('email', patch.email);
    applyPatch(employee, patch);
    return strip(employee);
  }

  // --- customers (sync methods) ----------------------------------------------------------------

  listCustomers({ scope, filter, page }) {
    this.#count('listCustomers');
    const search = filter?.search?.toLowerCase();
    const items = [...this.#customers.values()]
      .filter((c) => c.organization_id === scope.organization_id)
      .filter((c) => scope.customer_id == null || c.id === scope.customer_id)
      .filter((c) => filter?.status == null || c.status === filter.status)
      .filter((c) => filter?.customer_type == null || c.customer_type === filter.customer_type)
      .filter((c) => filter?.assigned_to == null || c.assigned_to === filter.assigned_to)
      .filter((c) => !search || [c.name, c.email, c.company_name, c.phone].some((v) => contains(v, search)))
      .filter((c) => customFieldsMatch(c, filter?.custom_fields))
      .filter((c) => inSpans(c, filter, { created: 'created_at', updated: 'updated_at' }));
    return paginate(sorted(items, filter?.sort, ['created_at', 'updated_at', 'name']), page);
  }

  getCustomer({ scope, id }) {
    this.#count('getCustomer');
    return strip(this.#customer(scope, id));
  }

  createCustomer({ scope, new: fresh }) {
    this.#count('createCustomer');
    this.#staffOnly(scope, 'create customers');
    short('name', fresh.name, true);
    email('email', fresh.email);
    money('credit_limit', fresh.credit_limit);
    if (fresh.assigned_to != null) this.#employee(scope, fresh.assigned_to);
    const at = fresh.created_at ?? now();
    const customer = {
      id: `cus_${randomUUID()}`,
      organization_id: scope.organization_id,
      customer_type: 'individual',
      company_name: null,
      email: null,
      phone: null,
      address: null,
      city: null,
      state: null,
      postal_code: null,
      country: null,
      industry: null,
      website: null,
      status: 'active',
      assigned_to: null,
      credit_limit: null,
      source: null,
      tags: [],
      notes: null,
      converted_from_lead: null,
      user_id: null,
      custom_fields: {},
      ...fresh,
      created_at: at,
      updated_at: at,
      _seq: this.#seq++,
    };
    this.#customers.set(customer.id, customer);
    return strip(customer);
  }

  updateCustomer({ scope, id, patch }) {
    this.#count('updateCustomer');
    this.#staffOnly(scope, 'update customers');
    const customer = this.#customer(scope, id);
    if ('email' in patch) email('email', patch.email);
    if ('name' in patch) short('name', patch.name, true);
    if (patch.assigned_to != null) this.#employee(scope, patch.assigned_to);
    applyPatch(customer, patch);
    return strip(customer);
  }

  // --- issues and comments (async) -------------------------------------------------------------

  async listIssues({ scope, filter, page }) {
    this.#count('listIssues');
    const search = filter?.search?.toLowerCase();
    const items = [...this.#issues.values()]
      .filter((i) => i.organization_id === scope.organization_id)
      .filter((i) => scope.customer_id == null || i.customer_id === scope.customer_id)
      .filter((i) => filter?.status == null || i.status === filter.status)
      .filter((i) => filter?.priority == null || i.priority === filter.priority)
      .filter((i) => filter?.category == null || i.category === filter.category)
      .filter((i) => filter?.assigned_to == null || i.assigned_to === filter.assigned_to)
      .filter((i) => filter?.customer_id == null || i.customer_id === filter.customer_id)
      .filter((i) => filter?.order_id == null || i.order_id === filter.order_id)
      .filter((i) => !search || [i.number, i.title, i.description].some((v) => contains(v, search)))
      .filter((i) => customFieldsMatch(i, filter?.custom_fields))
      .filter((i) => inSpans(i, filter, { created: 'created_at', updated: 'updated_at', resolved: 'resolved_at' }));
    return paginate(sorted(items, filter?.sort, ['created_at', 'updated_at', 'resolved_at']), page);
  }

  async getIssue({ scope, id }) {
    this.#count('getIssue');
    return strip(this.#issue(scope, id));
  }

  async createIssue({ scope, new: fresh }) {
    this.#count('createIssue');
    short('title', fresh.title, true);
    long('description', fresh.description);
    let customerId = fresh.customer_id ?? null;
    if (scope.customer_id != null) {
      if (customerId != null && customerId !== scope.customer_id) throw notFound('customer', customerId);
      customerId = scope.customer_id;
    }
    if (customerId != null) this.#customer(scope, customerId);
    if (fresh.assigned_to != null) this.#employee(scope, fresh.assigned_to);
    const at = fresh.created_at ?? now();
    const year = at.slice(0, 4);
    const key = `${scope.organization_id}/${year}`;
    const n = (this.#numbers.get(key) ?? 0) + 1;
    this.#numbers.set(key, n);
    const issue = {
      id: `iss_${randomUUID()}`,
      organization_id: scope.organization_id,
      number: `ISS-${year}-${String(n).padStart(4, '0')}`,
      description: null,
      priority: 'medium',
      category: 'general',
      status: 'open',
      order_id: null,
      assigned_to: null,
      resolution_notes: null,
      resolved_at: null,
      resolved_by: null,
      custom_fields: {},
      ...fresh,
      customer_id: customerId,
      created_at: at,
      updated_at: at,
      _seq: this.#seq++,
    };
    this.#issues.set(issue.id, issue);
    return strip(issue);
  }

  async updateIssue({ scope, id, patch }) {
    this.#count('updateIssue');
    this.#staffOnly(scope, 'update issues');
    const issue = this.#issue(scope, id);
    if ('title' in patch) short('title', patch.title, true);
    if (patch.customer_id != null) this.#customer(scope, patch.customer_id);
    if (patch.assigned_to != null) this.#employee(scope, patch.assigned_to);
    applyPatch(issue, patch);
    return strip(issue);
  }

  async addIssueComment({ scope, new: fresh }) {
    this.#count('addIssueComment');
    this.#issue(scope, fresh.issue_id);
    short('author_name', fresh.author_name, true);
    if (String(fresh.body ?? '').trim() === '') throw invalid('`body` must not be empty');
    long('body', fresh.body);
    const comment = {
      id: `com_${randomUUID()}`,
      organization_id: scope.organization_id,
      internal: false,
      ...fresh,
      // A customer's comment is never internal.
      ...(scope.customer_id != null ? { internal: false } : {}),
      created_at: now(),
      _seq: this.#seq++,
    };
    this.#comments.push(comment);
    return strip(comment);
  }

  async listIssueComments({ scope, issue, include_internal: includeInternal, page }) {
    this.#count('listIssueComments');
    this.#issue(scope, issue);
    const internalToo = includeInternal && scope.customer_id == null;
    const items = this.#comments.filter((c) => c.issue_id === issue && (internalToo || !c.internal));
    return paginate([items, 'o'], page);
  }
}
