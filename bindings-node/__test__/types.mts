// Compiled (not run) by types.test.mjs: index.d.ts must describe the API as the tests use it,
// and the chat events must narrow on `type`.
import {
  Agent,
  type ChatEvent,
  type Context,
  CrmAgentError,
  type HostStore,
  NotFoundError,
  runStoreConformance,
  sseEncode,
} from 'crm-agent';

export async function example(): Promise<void> {
  const agent = await Agent.open({ database: 'sqlite::memory:', confirmation: 'all_writes', toolsets: ['customers'] });
  const ctx: Context = await agent.resolveContext('acme-rep');
  const own: Context = { userId: 'u', organizationId: 'org', role: 'customer', customerId: 'cus_1', grants: null };
  const tools = await agent.tools(own);
  const first: string = tools[0].name;
  const page = await agent.callTool<{ items: Array<{ id: string }> }>(ctx, 'list_customers', { limit: 2 });
  const id: string = page.items[0].id;

  const turn = agent.chat(ctx, 'hello', { conversationId: null, signal: new AbortController().signal });
  for await (const event of turn) {
    const line: string = sseEncode(event);
    switch (event.type) {
      case 'started': {
        const conversation: string = event.conversation_id;
        break;
      }
      case 'text': {
        const delta: string = event.delta;
        break;
      }
      case 'confirmation_required': {
        const confirmed = await agent.confirm(ctx, event.action_id);
        const status: 'pending' | 'executing' | 'succeeded' | 'failed' | 'rejected' | 'expired' = confirmed.action.status;
        break;
      }
      case 'done': {
        const steps: number = event.usage.steps;
        break;
      }
      case 'error': {
        const retry: boolean = event.retryable;
        break;
      }
      default: {
        const rest: 'tool_call' | 'tool_result' = event.type;
      }
    }
  }
  turn.cancel();

  try {
    await agent.callTool(ctx, 'get_customer', { customer_id: id });
  } catch (error) {
    if (error instanceof NotFoundError) {
      const code: 'NOT_FOUND' | string = error.code;
    } else if (error instanceof CrmAgentError && error.retryable) {
      throw error;
    }
  }

  const conversations = await agent.conversations(ctx, { limit: 5 });
  const next: string | null = conversations.next_cursor;
  const status = await agent.status(ctx);
  const count: number = status.tool_count;

  const store: HostStore = {
    listCustomers: ({ scope }) => ({ items: [{ organization_id: scope.organization_id }], total: 1, next_cursor: null }),
    getCustomer: async ({ id }) => ({ id }),
  };
  const wrongArguments: HostStore = {
    // @ts-expect-error: a host method receives the core's arguments, and `getCustomer` has no `customer_id`
    getCustomer: ({ customer_id }: { customer_id: string }) => ({ id: customer_id }),
  };
  const wrongAnswer: HostStore = {
    // @ts-expect-error: a list method answers a page, not an array
    listCustomers: () => [],
  };
  const results = await runStoreConformance(() => store, { cases: ['customer_isolation'] });
  const outcome: 'passed' | 'failed' | 'skipped' = results[0].outcome;
  await agent.close();
  // @ts-expect-error: events are typed, a misspelled type does not exist
  const wrong: ChatEvent = { type: 'texts', delta: 'x' };
  void [first, line(), next, count, outcome, wrong, wrongArguments, wrongAnswer];
}

function line(): void {}
