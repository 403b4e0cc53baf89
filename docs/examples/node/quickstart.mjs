// Quick start: an agent over a SQLite database, the demo data, one tool call and one streamed
// chat turn. GEMINI_API_KEY (and optionally GEMINI_BASE_URL, GEMINI_MODEL) come from the
// environment.
import { Agent, NotFoundError } from 'crm-agent';

const agent = await Agent.open({ database: process.env.CRM_AGENT_DB ?? 'sqlite::memory:' });
await agent.seedDemo();

// Who is asking: normally built from your own session; here resolved from the demo members.
const ctx = await agent.resolveContext('acme-rep');

// Any tool, directly: policy, validation, tenant scope and audit apply as for the model.
const page = await agent.callTool(ctx, 'list_customers', { status: 'active', limit: 3 });
console.log(`${page.total} active customers, first: ${page.items[0].name}`);

try {
  await agent.callTool(ctx, 'get_customer', { customer_id: 'cus_unknown' });
} catch (error) {
  if (!(error instanceof NotFoundError)) throw error;
  console.log(`error ${error.code}: ${error.message}`);
}

// A chat turn, streamed. `break` would cancel it.
for await (const event of agent.chat(ctx, 'How many customers do we have?')) {
  switch (event.type) {
    case 'started':
      console.log(`conversation ${event.conversation_id}`);
      break;
    case 'text':
      process.stdout.write(event.delta);
      break;
    case 'tool_call':
      console.log(`[calling ${event.name}]`);
      break;
    case 'tool_result':
      console.log(`[${event.name}: ${event.ok ? 'ok' : 'failed'}]`);
      break;
    case 'confirmation_required':
      console.log(`\n[needs confirmation: ${event.summary}] -> agent.confirm(ctx, '${event.action_id}')`);
      break;
    case 'done':
      console.log(`\n(${event.usage.steps} model steps)`);
      break;
    case 'error':
      console.log(`\nturn failed (${event.code}): ${event.message}`);
      break;
  }
}

await agent.close();
