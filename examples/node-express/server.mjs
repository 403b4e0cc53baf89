// Runs the example: `npm start` (PORT, CRM_AGENT_DB, GEMINI_API_KEY, GEMINI_BASE_URL from the
// environment). On an empty database it loads the demo organizations and prints a token per
// demo user.

import { Agent, NotFoundError } from 'crm-agent';

import { createApp } from './app.mjs';

const agent = await Agent.open({ database: process.env.CRM_AGENT_DB ?? 'sqlite://crm-agent-express.db' });
try {
  await agent.resolveContext('acme-owner');
} catch (error) {
  if (!(error instanceof NotFoundError)) throw error;
  await agent.seedDemo();
}

// The application's own users: a token each (a real application has sessions, OAuth, …).
const users = new Map(
  ['acme-owner', 'acme-rep', 'acme-support', 'acme-customer', 'globex-owner'].map((userId) => [`demo-${userId}`, { userId }]),
);

const app = createApp({ agent, users });
const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  const { port } = server.address();
  console.log(`listening on http://127.0.0.1:${port}`);
  for (const token of users.keys()) console.log(`  Authorization: Bearer ${token}`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
    agent.close().then(() => process.exit(0));
  });
}
