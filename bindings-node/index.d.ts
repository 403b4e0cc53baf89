// Types of the public API of crm-agent (index.cjs / index.mjs). The native addon's own,
// generated declarations are in native.d.ts; this file describes the JavaScript layer over it.
//
// Naming: what you pass in (options, the context) is camelCase; what comes back (records,
// events, tool results) is the core's JSON, snake_case, the same as over HTTP and in Python.

/** Who is calling. Build it from your own session; the SDK never takes identity from the model. */
export interface Context {
  /** Your user id. */
  userId: string;
  /** The organization this request acts in. */
  organizationId: string;
  /**
   * The kind of principal (`vendor`, `superuser` and `staff` are accepted aliases), or one of
   * the policy's own `[role_names]`.
   */
  role: 'owner' | 'employee' | 'customer' | 'platform_admin' | 'vendor' | 'superuser' | 'staff' | (string & {});
  /** The user's employee record, if any. */
  employeeId?: string | null;
  /** The user's customer record (required for customers: it is all they can see). */
  customerId?: string | null;
  /** For employees: the policy's system roles they hold, e.g. `["sales_rep"]` (unknown names are INVALID_ARGUMENT). */
  roles?: string[] | null;
  /** For employees: grants held besides those of `roles`, e.g. `["customer:read", "deal:*"]`. */
  grants?: string[] | null;
  /** A name for prompts and audit displays. */
  displayName?: string | null;
}

export interface OpenOptions {
  /** `sqlite://FILE`, `sqlite::memory:` (default) or `postgres://…`. With `store`, it keeps the SDK's own records. */
  database?: string;
  /** A host-implemented store (your database); see {@link HostStore}. */
  store?: HostStore;
  /** Default: `GEMINI_API_KEY`, else `GOOGLE_API_KEY`. */
  geminiApiKey?: string;
  /** Default: `GEMINI_BASE_URL`, else the public Gemini endpoint. */
  geminiBaseUrl?: string;
  /** Default: `GEMINI_MODEL`, else a current GA Flash model. */
  model?: string;
  /** A policy as TOML text (docs/policy.md). Default: the built-in policy. */
  policy?: string;
  /** A policy TOML file (instead of `policy`). */
  policyFile?: string;
  /** Most model calls in one turn (default 8). */
  maxSteps?: number;
  /** Offer only these toolsets. */
  toolsets?: Array<'customers' | 'sales' | 'support' | 'activities' | 'analytics' | 'admin' | 'general'>;
  /** Override every organization's confirmation mode. */
  confirmation?: 'never' | 'destructive' | 'all_writes';
  /** Roughly how many tokens of stored history go with each turn (default 32,000). */
  historyTokenBudget?: number;
  /** Send compact tool declarations (fewer tokens). */
  compactTools?: boolean;
  /** Longest user message in characters (default 32,000). */
  maxMessageChars?: number;
  /** Longest tool result sent to the model, in bytes (default 100,000). */
  maxToolResultBytes?: number;
  /** Sampling temperature. */
  temperature?: number;
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** Token counts of a whole turn. */
export interface Usage {
  prompt_tokens: number;
  output_tokens: number;
  total_tokens: number;
  steps: number;
}

/** The turn started in this conversation (new or resumed). */
export interface StartedEvent { type: 'started'; conversation_id: string }
/** A piece of the answer (Markdown). */
export interface TextEvent { type: 'text'; delta: string }
/** The model called a tool; it runs now. */
export interface ToolCallEvent { type: 'tool_call'; id: string; name: string; args: JsonObject }
/** A tool call finished. */
export interface ToolResultEvent { type: 'tool_result'; id: string; name: string; ok: boolean; summary: string }
/** A write waits for the user: `agent.confirm(ctx, action_id)` or `agent.reject(ctx, action_id)`. */
export interface ConfirmationRequiredEvent {
  type: 'confirmation_required';
  action_id: string;
  tool: string;
  args: JsonObject;
  summary: string;
  /** RFC 3339. */
  expires_at: string;
}
/** The turn finished. */
export interface DoneEvent { type: 'done'; usage: Usage }
/** The turn failed; nothing follows. `code`: an error kind (`model`, `not_found`, …) or `model_not_configured`, `blocked`, `step_limit`. */
export interface ErrorEvent { type: 'error'; code: string; message: string; retryable: boolean }

/** One event of a chat turn, discriminated on `type`. */
export type ChatEvent =
  | StartedEvent
  | TextEvent
  | ToolCallEvent
  | ToolResultEvent
  | ConfirmationRequiredEvent
  | DoneEvent
  | ErrorEvent;

/** A chat turn: iterate it with `for await`; `break`, `cancel()` or the `signal` cancel the turn. */
export interface ChatTurn extends AsyncGenerator<ChatEvent, void, undefined> {
  /** Cancels the turn now (even while waiting for the next event). */
  cancel(): void;
}

export interface ChatOptions {
  /** Continue this conversation (default: a new one). */
  conversationId?: string | null;
  /** Aborting it cancels the turn (e.g. when the HTTP client goes away). */
  signal?: AbortSignal;
}

export interface ToolInfo {
  name: string;
  title: string;
  description: string;
  /** JSON Schema of the arguments. */
  parameters: JsonObject;
  /** `read_only: false` means it writes (and needs confirmation when the model calls it). */
  annotations: { read_only: boolean; destructive: boolean; idempotent: boolean };
}

export interface Page<T> {
  items: T[];
  total: number;
  next_cursor: string | null;
}

export interface PageOptions {
  /** 1–100 (default 20). */
  limit?: number;
  /** `next_cursor` of the previous page. */
  cursor?: string;
}

export interface Conversation {
  id: string;
  organization_id: string;
  user_id: string;
  title: string;
  message_count: number;
  created_at: string;
  updated_at: string;
}

export interface Message {
  id: string;
  conversation_id: string;
  role: 'user' | 'model' | 'tool' | 'system';
  /** Gemini content parts, as stored. */
  parts: JsonObject[];
  created_at: string;
}

export interface ConversationDetail {
  conversation: Conversation;
  /** The latest messages, oldest first. */
  messages: Message[];
  has_more: boolean;
}

export type ActionStatus = 'pending' | 'executing' | 'succeeded' | 'failed' | 'rejected' | 'expired';

export interface PendingAction {
  id: string;
  organization_id: string;
  user_id: string;
  conversation_id: string | null;
  tool: string;
  arguments: JsonObject;
  summary: string;
  status: ActionStatus;
  outcome: Json | null;
  created_at: string;
  expires_at: string;
  decided_at: string | null;
}

export interface ConfirmedAction {
  /** The action, now `succeeded`. */
  action: PendingAction;
  /** What the tool returned. */
  result: Json;
}

export interface AgentStatus {
  model: string;
  api_key_configured: boolean;
  model_reachable: boolean;
  model_error: string | null;
  available: boolean;
  user: {
    user_id: string;
    display_name: string | null;
    role: 'owner' | 'employee' | 'customer' | 'platform_admin';
    organization_id: string;
    organization_name: string | null;
    permission_count: number;
  };
  tool_count: number;
}

export interface Organization {
  id: string;
  name: string;
  slug: string;
  industry: string | null;
  website: string | null;
  settings: JsonObject;
  active: boolean;
  created_at: string;
  updated_at: string;
}

export interface SeedDemoOptions {
  customers?: number;
  leads?: number;
  deals?: number;
  issues?: number;
  orders?: number;
  activities?: number;
  seed?: number;
}

export interface SeedReport {
  organizations: Array<{ id: string; slug: string; name: string } & JsonObject>;
  users: Array<{ user_id: string; organization: string; role: string; employee_role: string | null }>;
}

/** The assistant. One per process: `await Agent.open(…)`, share it, `await agent.close()` at the end. */
export declare class Agent {
  private constructor();
  static open(options?: OpenOptions): Promise<Agent>;
  /** The tools `ctx` may use. */
  tools(ctx: Context): Promise<ToolInfo[]>;
  /** Runs one tool as `ctx` (policy, validation, scope, audit; no confirmation: the host acts). */
  callTool<T = any>(ctx: Context, name: string, args?: JsonObject): Promise<T>;
  /** Sends a message and streams the turn's events. */
  chat(ctx: Context, message: string, options?: ChatOptions): ChatTurn;
  confirm(ctx: Context, actionId: string): Promise<ConfirmedAction>;
  reject(ctx: Context, actionId: string): Promise<PendingAction>;
  pendingActions(
    ctx: Context,
    filter?: { conversation_id?: string; status?: ActionStatus },
    page?: PageOptions,
  ): Promise<Page<PendingAction>>;
  conversations(ctx: Context, page?: PageOptions): Promise<Page<Conversation>>;
  conversation(ctx: Context, id: string, options?: { limit?: number }): Promise<ConversationDetail>;
  renameConversation(ctx: Context, id: string, title: string): Promise<Conversation>;
  deleteConversation(ctx: Context, id: string): Promise<void>;
  status(ctx: Context): Promise<AgentStatus>;
  /** The context of `userId` from the store's members and roles. */
  resolveContext(userId: string, options?: { organization?: string }): Promise<Context>;
  /** The organization with `slug`, created (with its default pipeline and roles) when missing. */
  ensureOrganization(organization: {
    name: string;
    slug: string;
    industry?: string | null;
    website?: string | null;
    settings?: { assistant_instructions?: string | null; confirmation_mode?: 'never' | 'destructive' | 'all_writes' } & JsonObject;
  }): Promise<Organization>;
  /** Fills the SDK's database with the demo organizations `acme` and `globex`. */
  seedDemo(options?: SeedDemoOptions): Promise<SeedReport>;
  /** Waits for queued audit events and closes the database. Later calls fail with `UNAVAILABLE`. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** One event as a Server-Sent Event: `event: TYPE\ndata: JSON\n\n`. */
export declare function sseEncode(event: ChatEvent): string;
/** The event in the older Django frontend's encoding (`connected`, `message`, `completed`, `error`), or null. */
export declare function compatEncode(event: ChatEvent): JsonObject | null;
/** A `status()` answer in the shape the older Django frontend reads from `/api/gemini/status/`. */
export declare function compatStatus(status: AgentStatus): CompatStatus;
/** The store methods a host may implement, as the core lists them: `HostStoreMethods` is written from this list. */
export declare function hostStoreMethods(): HostMethodInfo[];
/** One method a host store may implement; types are Rust's (`&CustomerId`, `Page<Customer>`). */
export interface HostMethodInfo {
  /** snake_case, as the core names it (`get_customer`; the store defines `getCustomer`). */
  name: string;
  group: string;
  args: { name: string; type: string }[];
  result: string;
}

/** What the older Django frontend reads from `/api/gemini/status/`. */
export interface CompatStatus {
  available: boolean;
  model: string;
  api_key_configured: boolean;
  user_context: {
    user_id: string;
    organization_id: string;
    role: 'owner' | 'employee' | 'customer' | 'platform_admin';
    permissions_count: number;
    display_name: string | null;
    organization_name: string | null;
    tool_count: number;
  };
}

/** The stable codes of {@link CrmAgentError}. */
export type ErrorCode =
  | 'NOT_FOUND'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'INVALID_ARGUMENT'
  | 'CONFLICT'
  | 'UNSUPPORTED'
  | 'UNAVAILABLE'
  | 'STORE_ERROR'
  | 'MODEL_ERROR'
  | 'HOST_ERROR'
  | 'INTERNAL';

export declare class CrmAgentError extends Error {
  constructor(message: string, options?: { code?: ErrorCode; retryable?: boolean; cause?: unknown });
  readonly code: ErrorCode;
  /** Whether the same call may succeed later. */
  readonly retryable: boolean;
}
export declare class NotFoundError extends CrmAgentError {}
export declare class UnauthenticatedError extends CrmAgentError {}
export declare class PermissionDeniedError extends CrmAgentError {}
export declare class InvalidArgumentError extends CrmAgentError {}
export declare class ConflictError extends CrmAgentError {}
export declare class UnsupportedError extends CrmAgentError {}
export declare class UnavailableError extends CrmAgentError {}
export declare class StoreError extends CrmAgentError {}
export declare class ModelError extends CrmAgentError {}
export declare class HostError extends CrmAgentError {}
export declare class InternalError extends CrmAgentError {}

/** The scope every host store call carries: answer only records inside it. */
export interface Scope {
  organization_id: string;
  /** Set for customer users: only this customer's records are visible. */
  customer_id: string | null;
}

/** Arguments of a host store method: the scope (for most), then the method's own parameters. */
export interface StoreArgs {
  scope: Scope;
  [name: string]: any;
}

/**
 * A store implemented by your application. Implement the methods of the groups you have
 * (e.g. `listCustomers` + `getCustomer` for reading customers); the tools that need a
 * missing group are hidden from the model. Each method takes one object of named arguments
 * and returns (or resolves to) the core's JSON for the result. Throw an error with a `code`
 * (`NOT_FOUND`, `INVALID_ARGUMENT`, `CONFLICT`, …) to tell the core what went wrong; your
 * error object reaches the caller of `callTool` unchanged. See docs/node.md for every method.
 */
export interface HostStore extends Partial<HostStoreMethods> {
  [member: string]: unknown;
}

// <host-store-methods> generated by scripts/host_contract.py from the core's list; do not edit
/** What a host store method receives as `page`. */
export interface HostPageRequest {
  limit: number;
  cursor: string | null;
}
/** What `take_rate_budget` receives as `budget`. */
export interface RateBudget {
  per_minute: number;
  burst: number;
}
/** How `take_rate_budget` answers. */
export interface RateAnswer {
  taken: boolean;
  wait_ms?: number;
}
/** How `claim_idempotency_key` answers. */
export type IdempotencyClaim = { status: 'claimed' | 'in_progress' } | { status: 'done'; result: Json };
/** A host store method may answer at once or with a promise. */
export type Answer<T> = T | Promise<T>;

/** Every method a host store may implement, with what it receives and answers. */
export interface HostStoreMethods {
  /** Group `Organizations`. */
  createOrganization(args: { new: JsonObject }): Answer<object>;
  /** Group `Organizations`. */
  findOrganization(args: { id_or_slug: string }): Answer<object>;
  /** Group `Organizations`. */
  getOrganization(args: { scope: Scope }): Answer<object>;
  /** Group `Organizations`. */
  updateOrganization(args: { scope: Scope; patch: JsonObject }): Answer<object>;
  /** Group `Members`. */
  putMember(args: { scope: Scope; member: JsonObject }): Answer<object>;
  /** Group `Members`. */
  getMember(args: { scope: Scope; user_id: string }): Answer<object>;
  /** Group `Members`. */
  listMemberships(args: { user_id: string }): Answer<object[]>;
  /** Group `Roles`. */
  listRoles(args: { scope: Scope }): Answer<object[]>;
  /** Group `Roles`. */
  createRole(args: { scope: Scope; new: JsonObject }): Answer<object>;
  /** Group `Roles`. */
  updateRole(args: { scope: Scope; id: string; patch: JsonObject }): Answer<object>;
  /** Group `Roles`. */
  assignRole(args: { scope: Scope; employee: string; role: string }): Answer<object>;
  /** Group `ReadEmployees`. */
  listEmployees(args: { scope: Scope; filter: JsonObject; page: HostPageRequest }): Answer<Page<object>>;
  /** Group `ReadEmployees`. */
  getEmployee(args: { scope: Scope; id: string }): Answer<object>;
  /** Group `WriteEmployees`. */
  createEmployee(args: { scope: Scope; new: JsonObject }): Answer<object>;
  /** Group `WriteEmployees`. */
  updateEmployee(args: { scope: Scope; id: string; patch: JsonObject }): Answer<object>;
  /** Group `ReadCustomers`. */
  listCustomers(args: { scope: Scope; filter: JsonObject; page: HostPageRequest }): Answer<Page<object>>;
  /** Group `ReadCustomers`. */
  getCustomer(args: { scope: Scope; id: string }): Answer<object>;
  /** Group `WriteCustomers`. */
  createCustomer(args: { scope: Scope; new: JsonObject }): Answer<object>;
  /** Group `WriteCustomers`. */
  updateCustomer(args: { scope: Scope; id: string; patch: JsonObject }): Answer<object>;
  /** Group `ReadLeads`. */
  listLeads(args: { scope: Scope; filter: JsonObject; page: HostPageRequest }): Answer<Page<object>>;
  /** Group `ReadLeads`. */
  getLead(args: { scope: Scope; id: string }): Answer<object>;
  /** Group `ReadLeads`. */
  leadHistory(args: { scope: Scope; id: string }): Answer<object[]>;
  /** Group `WriteLeads`. */
  createLead(args: { scope: Scope; new: JsonObject }): Answer<object>;
  /** Group `WriteLeads`. */
  updateLead(args: { scope: Scope; id: string; patch: JsonObject; history: JsonObject | null }): Answer<object>;
  /** Group `ConvertLeads`. */
  convertLead(args: { scope: Scope; id: string; customer: JsonObject }): Answer<object>;
  /** Group `ReadPipelines`. */
  listPipelines(args: { scope: Scope }): Answer<object[]>;
  /** Group `WritePipelines`. */
  createPipeline(args: { scope: Scope; new: JsonObject }): Answer<object>;
  /** Group `ReadDeals`. */
  listDeals(args: { scope: Scope; filter: JsonObject; page: HostPageRequest }): Answer<Page<object>>;
  /** Group `ReadDeals`. */
  getDeal(args: { scope: Scope; id: string }): Answer<object>;
  /** Group `WriteDeals`. */
  createDeal(args: { scope: Scope; new: JsonObject }): Answer<object>;
  /** Group `WriteDeals`. */
  updateDeal(args: { scope: Scope; id: string; patch: JsonObject }): Answer<object>;
  /** Group `ReadIssues`. */
  listIssues(args: { scope: Scope; filter: JsonObject; page: HostPageRequest }): Answer<Page<object>>;
  /** Group `ReadIssues`. */
  getIssue(args: { scope: Scope; id: string }): Answer<object>;
  /** Group `ReadIssues`. */
  listIssueComments(args: { scope: Scope; issue: string; include_internal: boolean; page: HostPageRequest }): Answer<Page<object>>;
  /** Group `WriteIssues`. */
  createIssue(args: { scope: Scope; new: JsonObject }): Answer<object>;
  /** Group `WriteIssues`. */
  updateIssue(args: { scope: Scope; id: string; patch: JsonObject }): Answer<object>;
  /** Group `WriteIssues`. */
  addIssueComment(args: { scope: Scope; new: JsonObject }): Answer<object>;
  /** Group `ReadOrders`. */
  listOrders(args: { scope: Scope; filter: JsonObject; page: HostPageRequest }): Answer<Page<object>>;
  /** Group `ReadOrders`. */
  getOrder(args: { scope: Scope; id: string }): Answer<object>;
  /** Group `WriteOrders`. */
  createOrder(args: { scope: Scope; new: JsonObject }): Answer<object>;
  /** Group `ReadPayments`. */
  listPayments(args: { scope: Scope; filter: JsonObject; page: HostPageRequest }): Answer<Page<object>>;
  /** Group `ReadPayments`. */
  getPayment(args: { scope: Scope; id: string }): Answer<object>;
  /** Group `WritePayments`. */
  createPayment(args: { scope: Scope; new: JsonObject }): Answer<object>;
  /** Group `ReadActivities`. */
  listActivities(args: { scope: Scope; filter: JsonObject; page: HostPageRequest }): Answer<Page<object>>;
  /** Group `ReadActivities`. */
  getActivity(args: { scope: Scope; id: string }): Answer<object>;
  /** Group `WriteActivities`. */
  createActivity(args: { scope: Scope; new: JsonObject }): Answer<object>;
  /** Group `WriteActivities`. */
  updateActivity(args: { scope: Scope; id: string; patch: JsonObject }): Answer<object>;
  /** Group `Audit`. */
  recordAudit(args: { scope: Scope; event: JsonObject }): Answer<void>;
  /** Group `Audit`. */
  listAuditEvents(args: { scope: Scope; filter: JsonObject; page: HostPageRequest }): Answer<Page<object>>;
  /** Group `Idempotency`. */
  completeIdempotencyKey(args: { scope: Scope; user_id: string; key: string; result: Json }): Answer<void>;
  /** Group `Idempotency`. */
  releaseIdempotencyKey(args: { scope: Scope; user_id: string; key: string }): Answer<void>;
  /** Group `Conversations`. */
  createConversation(args: { scope: Scope; new: JsonObject }): Answer<object>;
  /** Group `Conversations`. */
  getConversation(args: { scope: Scope; user_id: string; id: string }): Answer<object>;
  /** Group `Conversations`. */
  listConversations(args: { scope: Scope; user_id: string; page: HostPageRequest }): Answer<Page<object>>;
  /** Group `Conversations`. */
  updateConversation(args: { scope: Scope; user_id: string; id: string; patch: JsonObject }): Answer<object>;
  /** Group `Conversations`. */
  deleteConversation(args: { scope: Scope; user_id: string; id: string }): Answer<void>;
  /** Group `Conversations`. */
  appendMessages(args: { scope: Scope; user_id: string; id: string; messages: JsonObject[]; now: string }): Answer<object[]>;
  /** Group `Conversations`. */
  listMessages(args: { scope: Scope; user_id: string; id: string; page: HostPageRequest }): Answer<Page<object>>;
  /** Group `PendingActions`. */
  createPendingAction(args: { scope: Scope; new: JsonObject }): Answer<object>;
  /** Group `PendingActions`. */
  getPendingAction(args: { scope: Scope; user_id: string; id: string }): Answer<object>;
  /** Group `PendingActions`. */
  listPendingActions(args: { scope: Scope; user_id: string; filter: JsonObject; page: HostPageRequest }): Answer<Page<object>>;
  /** Group `PendingActions`. */
  decidePendingAction(args: { scope: Scope; user_id: string; id: string; to: ActionStatus; now: string }): Answer<object>;
  /** Group `PendingActions`. */
  finishPendingAction(args: { scope: Scope; user_id: string; id: string; to: ActionStatus; outcome: Json }): Answer<object>;
  /** Group `ApiTokens`. */
  createApiToken(args: { scope: Scope; new: JsonObject }): Answer<object>;
  /** Group `ApiTokens`. */
  listApiTokens(args: { scope: Scope; user_id: string }): Answer<object[]>;
  /** Group `ApiTokens`. */
  revokeApiToken(args: { scope: Scope; user_id: string; id: string; now: string }): Answer<object>;
  /** Group `ApiTokens`. */
  findApiToken(args: { secret_hash: string }): Answer<object>;
  /** Group `Idempotency`. */
  claimIdempotencyKey(args: { scope: Scope; user_id: string; key: string; tool: string; fingerprint: string; now: string }): Answer<IdempotencyClaim>;
  /** Group `RateLimits`. */
  takeRateBudget(args: { scope: Scope; user_id: string; bucket: string; budget: RateBudget; cost: number; now: string }): Answer<RateAnswer>;
}
// </host-store-methods>

export interface ConformanceOptions {
  /** Only these cases (names from `storeConformanceCases()`). */
  cases?: string[];
  /** Keep what the store does not implement (organizations, roles, conversations, …) in an in-memory SQLite beside it, as `Agent.open` does (default true). */
  bookkeeping?: boolean;
}

export interface ConformanceResult {
  name: string;
  outcome: 'passed' | 'failed' | 'skipped';
  message: string | null;
}

/** Runs the core's store conformance suite; `factory` makes a fresh, empty store per case. */
export declare function runStoreConformance(
  factory: () => HostStore | Promise<HostStore>,
  options?: ConformanceOptions,
): Promise<ConformanceResult[]>;
/** The names of the conformance cases, in suite order. */
export declare function storeConformanceCases(): string[];
