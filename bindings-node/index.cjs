'use strict';
// The public JavaScript API of crm-agent. The native addon (native.cjs + crm-agent.*.node,
// built by `napi build`) does the work; this file gives it its shape: the `Agent` class,
// `for await` chat turns, `Error` subclasses with a `code`, and host-implemented stores.
// Types: index.d.ts. ESM: index.mjs re-exports this module.

const native = require('./native.cjs');

// ---------------------------------------------------------------------------------------------
// Errors: the one mapping from the addon's errors to JavaScript ones (the Rust side of it is
// bindings-node/src/errors.rs).

/** Starts the message of every error the addon encodes (same constant in errors.rs). */
const TAG = '\u0001crm-agent-error\u0001';

/** Every crm-agent error: `code` is stable, `message` is the core's. */
class CrmAgentError extends Error {
  constructor(message, options = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code ?? CODE_OF.get(new.target) ?? 'INTERNAL';
    this.retryable = options.retryable ?? false;
  }
}
class NotFoundError extends CrmAgentError {}
class UnauthenticatedError extends CrmAgentError {}
class PermissionDeniedError extends CrmAgentError {}
class InvalidArgumentError extends CrmAgentError {}
class ConflictError extends CrmAgentError {}
class UnsupportedError extends CrmAgentError {}
class UnavailableError extends CrmAgentError {}
class StoreError extends CrmAgentError {}
class ModelError extends CrmAgentError {}
class HostError extends CrmAgentError {}
class InternalError extends CrmAgentError {}

const CLASS_OF = new Map([
  ['NOT_FOUND', NotFoundError],
  ['UNAUTHENTICATED', UnauthenticatedError],
  ['PERMISSION_DENIED', PermissionDeniedError],
  ['INVALID_ARGUMENT', InvalidArgumentError],
  ['CONFLICT', ConflictError],
  ['UNSUPPORTED', UnsupportedError],
  ['UNAVAILABLE', UnavailableError],
  ['STORE_ERROR', StoreError],
  ['MODEL_ERROR', ModelError],
  ['HOST_ERROR', HostError],
  ['INTERNAL', InternalError],
]);
const CODE_OF = new Map([...CLASS_OF].map(([code, cls]) => [cls, code]));

/** napi's own argument conversion failures (a missing field, a wrong type). */
const NAPI_ARGUMENT_CODES = new Set([
  'InvalidArg', 'ObjectExpected', 'StringExpected', 'NameExpected', 'FunctionExpected',
  'NumberExpected', 'BooleanExpected', 'ArrayExpected', 'BigintExpected', 'DateExpected',
]);

/** The JavaScript error for whatever the addon threw. A host store's own exception is returned as is. */
function fromNative(error) {
  if (error instanceof Error && typeof error.message === 'string') {
    if (error.message.startsWith(TAG)) {
      const { code, message, retryable } = JSON.parse(error.message.slice(TAG.length));
      const Class = CLASS_OF.get(code) ?? CrmAgentError;
      return new Class(message, { code, retryable });
    }
    if (!(error instanceof CrmAgentError) && NAPI_ARGUMENT_CODES.has(error.code)) {
      return new InvalidArgumentError(error.message, { code: 'INVALID_ARGUMENT' });
    }
  }
  return error;
}

/** Runs an async addon call, translating its error (argument conversion errors are thrown synchronously). */
async function settle(fn) {
  try {
    return await fn();
  } catch (error) {
    throw fromNative(error);
  }
}

/** Runs a synchronous addon call, translating its error. */
function run(fn) {
  try {
    return fn();
  } catch (error) {
    throw fromNative(error);
  }
}

// ---------------------------------------------------------------------------------------------
// Arguments. napi's object conversion takes `undefined` for a missing optional field but not
// `null`; JavaScript code (and JSON) uses both, so nulls are dropped before the addon sees them.

/** `value` without its `null` properties (the same object when it has none). */
function dropNulls(value) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  for (const key in value) {
    if (value[key] === null) {
      const copy = {};
      for (const k in value) if (value[k] !== null) copy[k] = value[k];
      return copy;
    }
  }
  return value;
}

/** The context as the addon takes it: JSON text (one string crosses instead of a field at a time). */
function context(ctx) {
  if (ctx === null || typeof ctx !== 'object') throw new InvalidArgumentError('the context must be an object');
  return JSON.stringify(ctx);
}

const rethrow = (error) => {
  throw fromNative(error);
};

/** Arguments of a tool as JSON text. */
function toolArguments(args) {
  if (args === undefined || args === null) return '{}';
  try {
    return JSON.stringify(args);
  } catch (error) {
    throw new InvalidArgumentError(`the arguments cannot be sent as JSON: ${error.message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Host-implemented stores. A store is any object whose methods are the camelCase names of the
// core's Store methods (`getCustomer`, `listCustomers`, …), each taking one object of named
// arguments and returning (or resolving to) plain data. The addon calls them through one
// dispatch function that never throws and never rejects: results go back as JSON text, and an
// exception goes back as the very object thrown, so callers get it back unchanged.

const camelCache = new Map();
function camelCase(snake) {
  let camel = camelCache.get(snake);
  if (camel === undefined) {
    camel = snake.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
    camelCache.set(snake, camel);
  }
  return camel;
}

function snakeCase(camel) {
  return camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** The snake_case names of every method of `store` (own and inherited, not Object's). */
function storeMethods(store) {
  if (store === null || (typeof store !== 'object' && typeof store !== 'function')) {
    throw new InvalidArgumentError('`store` must be an object with store methods');
  }
  const names = new Set();
  for (let o = store; o !== null && o !== Object.prototype && o !== Function.prototype; o = Object.getPrototypeOf(o)) {
    for (const key of Object.getOwnPropertyNames(o)) {
      if (key === 'constructor' || names.has(snakeCase(key))) continue;
      const descriptor = Object.getOwnPropertyDescriptor(o, key);
      if (descriptor && typeof descriptor.value === 'function') names.add(snakeCase(key));
    }
  }
  return [...names];
}

function answer(value) {
  try {
    return JSON.stringify(value === undefined ? null : value);
  } catch (error) {
    return failure(error);
  }
}

function failure(error) {
  const code = error !== null && typeof error === 'object' && typeof error.code === 'string' ? error.code : undefined;
  let message;
  try {
    message = error instanceof Error ? String(error.message) : String(error);
  } catch {
    message = 'the host store failed';
  }
  return { error, code, message };
}

/** The dispatch function over the stores `lookup(id)` finds. */
function makeDispatch(lookup) {
  return function dispatch(id, method, argsJson) {
    let result;
    try {
      const store = lookup(id);
      result = store[camelCase(method)](JSON.parse(argsJson));
    } catch (error) {
      // A synchronous throw must not reach the addon's thread-safe call (it would be fatal).
      return Promise.resolve(failure(error));
    }
    if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
      return Promise.resolve(result).then(answer, failure);
    }
    return Promise.resolve(answer(result));
  };
}

// ---------------------------------------------------------------------------------------------
// Chat turns.

/** The events of one native chat turn, one by one; `break`/`return()` cancels the turn. */
async function* chatEvents(nativeChat, onEnd) {
  try {
    for (;;) {
      let batch;
      try {
        batch = await nativeChat.next();
      } catch (error) {
        throw fromNative(error);
      }
      if (batch === null) return;
      const events = JSON.parse(batch);
      for (let i = 0; i < events.length; i++) yield events[i];
    }
  } finally {
    nativeChat.cancel();
    onEnd();
  }
}

// ---------------------------------------------------------------------------------------------
// The agent.

const OPEN_OPTIONS = new Set([
  'database', 'store', 'geminiApiKey', 'geminiBaseUrl', 'model', 'policy', 'policyFile', 'maxSteps',
  'toolsets', 'confirmation', 'historyTokenBudget', 'compactTools', 'maxMessageChars',
  'maxToolResultBytes', 'temperature',
]);

const OPENING = Symbol('crm-agent open');



/** The assistant. Create one per process with `Agent.open`, share it, `close()` it at the end. */
class Agent {
  #native;

  /** @private use `Agent.open` */
  constructor(token, nativeAgent) {
    if (token !== OPENING) throw new TypeError('use `await Agent.open(options)` to create an Agent');
    this.#native = nativeAgent;
  }

  /** Opens the database, the model and the policy. */
  static async open(options = {}) {
    if (options === null || typeof options !== 'object') {
      throw new InvalidArgumentError('Agent.open takes an options object');
    }
    const unknown = Object.keys(options).filter((key) => !OPEN_OPTIONS.has(key));
    if (unknown.length > 0) {
      throw new InvalidArgumentError(`unknown option(s) of Agent.open: ${unknown.join(', ')}`);
    }
    const { store, ...rest } = options;
    let methods;
    let dispatch;
    if (store !== undefined && store !== null) {
      methods = storeMethods(store);
      dispatch = makeDispatch(() => store);
    }
    const nativeAgent = await settle(() => native.openAgent(dropNulls(rest), methods, dispatch));
    return new Agent(OPENING, nativeAgent);
  }

  /** The tools `ctx` may use. */
  async tools(ctx) {
    return JSON.parse(run(() => this.#native.tools(context(ctx))));
  }

  /** Runs one tool as `ctx`: policy, validation, scope and audit as always, no confirmation. */
  callTool(ctx, name, args) {
    // The hot path, so no async wrapper: the addon answers the result's JSON at once when the
    // tool needed no I/O, or a promise of it (bindings-node/src/agent.rs).
    let answer;
    try {
      answer = this.#native.callTool(context(ctx), name, toolArguments(args));
    } catch (error) {
      return Promise.reject(fromNative(error));
    }
    if (typeof answer === 'string') return Promise.resolve(JSON.parse(answer));
    return answer.then(JSON.parse, rethrow);
  }

  /**
   * Sends `message` and streams the turn's events: `for await (const event of agent.chat(…))`.
   * `break` (or `turn.cancel()`, or aborting `options.signal`) cancels the turn.
   */
  chat(ctx, message, options = {}) {
    const { conversationId, signal } = options ?? {};
    if (typeof message !== 'string') throw new InvalidArgumentError('`message` must be a string');
    const nativeChat = run(() => this.#native.chat(context(ctx), message, conversationId ?? undefined));
    const cancel = () => nativeChat.cancel();
    const turn = chatEvents(nativeChat, () => signal?.removeEventListener('abort', cancel));
    Object.defineProperty(turn, 'cancel', { value: cancel });
    if (signal) {
      if (signal.aborted) cancel();
      else signal.addEventListener('abort', cancel, { once: true });
    }
    return turn;
  }

  /** Confirms a pending action: it runs once, as `ctx`. */
  confirm(ctx, actionId) {
    return settle(() => this.#native.confirm(context(ctx), actionId));
  }

  /** Rejects a pending action: it never runs. */
  reject(ctx, actionId) {
    return settle(() => this.#native.reject(context(ctx), actionId));
  }

  /** `ctx`'s pending actions, newest first. */
  pendingActions(ctx, filter = {}, page = {}) {
    return settle(() => this.#native.pendingActions(context(ctx), dropNulls(filter ?? {}), dropNulls(page ?? {})));
  }

  /** `ctx`'s conversations, newest first: `{ items, total, next_cursor }`. */
  conversations(ctx, page = {}) {
    return settle(() => this.#native.conversations(context(ctx), dropNulls(page ?? {})));
  }

  /** One conversation with its latest messages (oldest first). */
  conversation(ctx, id, options = {}) {
    return settle(() => this.#native.conversation(context(ctx), id, options?.limit ?? undefined));
  }

  /** Renames one of `ctx`'s conversations. */
  renameConversation(ctx, id, title) {
    return settle(() => this.#native.renameConversation(context(ctx), id, title));
  }

  /** Deletes one of `ctx`'s conversations. */
  deleteConversation(ctx, id) {
    return settle(() => this.#native.deleteConversation(context(ctx), id));
  }

  /** The model, whether it is configured and reachable, who `ctx` is, how many tools. */
  status(ctx) {
    return settle(() => this.#native.status(context(ctx)));
  }

  /** The context of `userId` from the store's members and roles. */
  resolveContext(userId, options = {}) {
    return settle(() => this.#native.resolveContext(userId, options?.organization ?? undefined));
  }

  /** The organization with `slug`, created with its defaults when missing (maps your tenants onto crm-agent's). */
  ensureOrganization(organization) {
    return settle(() => this.#native.ensureOrganization(organization));
  }

  /** Fills the SDK's database with the demo organizations `acme` and `globex`. */
  seedDemo(options = {}) {
    return settle(() => this.#native.seedDemo(dropNulls(options ?? {})));
  }

  /** Waits for queued audit events and closes the database; later calls fail with UNAVAILABLE. */
  close() {
    return settle(() => this.#native.close());
  }

  async [Symbol.asyncDispose]() {
    await this.close();
  }

  /** @private benchmark helpers (bench/bench.mjs) */
  get _native() {
    return this.#native;
  }
}

/** One chat event as a Server-Sent Event (`event: TYPE\ndata: JSON\n\n`). */
function sseEncode(event) {
  return run(() => native.sseEncode(JSON.stringify(event)));
}

/** The event in the older Django frontend's encoding (`connected`, `message`, `completed`, `error`), or null. */
function compatEncode(event) {
  return run(() => native.compatEncode(JSON.stringify(event)));
}

/** A `status()` answer in the shape the older Django frontend reads from `/api/gemini/status/`. */
function compatStatus(status) {
  return run(() => native.compatStatus(JSON.stringify(status)));
}

/** The store methods a host may implement, as the core lists them (`HostStoreMethods` in index.d.ts). */
function hostStoreMethods() {
  return native.hostStoreMethods();
}

// ---------------------------------------------------------------------------------------------
// The store conformance suite.

/**
 * Runs the core's store conformance suite against JavaScript stores: `factory()` makes a fresh,
 * empty store (an object, or a promise of one) for each case. Resolves to one result per case.
 */
async function runStoreConformance(factory, options = {}) {
  requireConformanceSuite();
  if (typeof factory !== 'function') throw new InvalidArgumentError('`factory` must be a function');
  const stores = new Map();
  let next = 0;
  const make = async () => {
    const store = await factory();
    const id = next++;
    stores.set(id, store);
    return { id, methods: storeMethods(store) };
  };
  try {
    return await settle(() => native.runStoreConformance(make, makeDispatch((id) => stores.get(id)), dropNulls(options ?? {})));
  } finally {
    stores.clear();
  }
}

/** The names of the conformance cases, in order. */
function storeConformanceCases() {
  requireConformanceSuite();
  return native.storeConformanceCases();
}

/** The published addon leaves the suite out: it is test code, and stores are tested at build time. */
function requireConformanceSuite() {
  if (typeof native.runStoreConformance !== 'function') {
    throw new UnsupportedError(
      'this build of the addon leaves out the store conformance suite; build it with `--features conformance` (docs/node.md)',
    );
  }
}

/** @private for bench/bench.mjs: an Agent over an addon agent built natively. */
const _internal = {
  native,
  /** An Agent over an addon agent built natively. */
  wrapAgent: (nativeAgent) => new Agent(OPENING, nativeAgent),
};

module.exports = {
  _internal,
  Agent,
  sseEncode,
  compatEncode,
  compatStatus,
  hostStoreMethods,
  runStoreConformance,
  storeConformanceCases,
  CrmAgentError,
  NotFoundError,
  UnauthenticatedError,
  PermissionDeniedError,
  InvalidArgumentError,
  ConflictError,
  UnsupportedError,
  UnavailableError,
  StoreError,
  ModelError,
  HostError,
  InternalError,
};
