// Nothing of the addon keeps Node alive once the application is done with it: each scenario
// runs in a child process that must exit by itself, promptly, with status 0.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { startFakeGemini } from './helpers.mjs';

const INDEX = fileURLToPath(new URL('../index.mjs', import.meta.url));
const STORE = fileURLToPath(new URL('./memory-store.mjs', import.meta.url));
/** Node's own start-up and loading the addon take a few hundred ms; the rest is the budget. */
const LIMIT_MS = 5_000;

let fake;
let dir;

before(async () => {
  fake = await startFakeGemini();
  dir = await mkdtemp(path.join(tmpdir(), 'crm-agent-exit-'));
});

after(async () => {
  fake?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Runs `body` (ESM, with `Agent`, `MemoryStore` and `FAKE` in scope); resolves to { code, ms, output }. */
function runChild(body) {
  const source = `
    import { Agent } from ${JSON.stringify(INDEX)};
    import { MemoryStore } from ${JSON.stringify(STORE)};
    const FAKE = process.env.FAKE_URL;
    ${body}
    console.log('script done');
  `;
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--input-type=module', '-e', source], {
      env: { ...process.env, FAKE_URL: fake.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the child did not exit within ${LIMIT_MS * 2} ms:\n${output}`));
    }, LIMIT_MS * 2);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal, ms: Date.now() - started, output });
    });
  });
}

async function exitsPromptly(body) {
  const { code, ms, output } = await runChild(body);
  assert.equal(code, 0, output);
  assert.match(output, /script done/);
  assert.ok(ms < LIMIT_MS, `took ${ms} ms to exit:\n${output}`);
}

test('after close()', async () => {
  await exitsPromptly(`
    const agent = await Agent.open({ store: new MemoryStore(), geminiApiKey: '' });
    const org = await agent.ensureOrganization({ name: 'Exit', slug: 'exit' });
    await agent.callTool({ userId: 'u', organizationId: org.id, role: 'owner' }, 'list_customers', {});
    await agent.close();
  `);
});

test('without close(): a JS store and a file database, the agent simply dropped', async () => {
  const db = `sqlite://${path.join(dir, 'dropped.db')}`;
  await exitsPromptly(`
    let agent = await Agent.open({ store: new MemoryStore(), database: ${JSON.stringify(db)}, geminiApiKey: '' });
    const org = await agent.ensureOrganization({ name: 'Exit', slug: 'exit' });
    const ctx = { userId: 'u', organizationId: org.id, role: 'owner' };
    await agent.callTool(ctx, 'create_customer', { name: 'Left Behind' });
    await agent.status(ctx);
    agent = null;
  `);
});

test('after a chat turn left with break, mid-stream', async () => {
  await fake.setTurns([{ times: 0, reply: { text: 'word '.repeat(200), chunk_size: 5, chunk_delay_ms: 50 } }]);
  await exitsPromptly(`
    const agent = await Agent.open({ geminiBaseUrl: FAKE, geminiApiKey: 'k' });
    await agent.seedDemo({ customers: 2, leads: 1, deals: 1, issues: 1, orders: 1, activities: 1 });
    const ctx = await agent.resolveContext('acme-owner');
    for await (const event of agent.chat(ctx, 'talk')) {
      if (event.type === 'text') break;
    }
  `);
});

test('while a turn still waits for the model, once it is cancelled', async () => {
  await fake.setTurns([{ times: 0, reply: { text: 'late', first_byte_delay_ms: 30_000 } }]);
  await exitsPromptly(`
    const agent = await Agent.open({ geminiBaseUrl: FAKE, geminiApiKey: 'k' });
    await agent.seedDemo({ customers: 2, leads: 1, deals: 1, issues: 1, orders: 1, activities: 1 });
    const ctx = await agent.resolveContext('acme-owner');
    const turn = agent.chat(ctx, 'wait');
    setTimeout(() => turn.cancel(), 200);
    for await (const event of turn) {}
  `);
});
