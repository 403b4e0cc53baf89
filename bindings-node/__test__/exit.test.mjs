// Every way an application uses the addon, each run as a fresh Node process 30 times: each must
// exit by itself with status 0 (or, for Ctrl-C, be ended by SIGINT as Node does), and nothing of
// the addon may keep Node alive once the application is done. A model that takes 30 s to answer
// is still waiting when a child should be long gone: a child alive after KEPT_ALIVE_MS is killed
// and counted as kept alive.

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
const RUNS = 30;
const PARALLEL = 3;
const KEPT_ALIVE_MS = 20_000;

// One script serves every shape at once: the user's text picks the reply.
const TURNS = [
  { when: { user_text_contains: 'fail' }, times: 0, reply: { error: { status: 400 } } },
  { when: { user_text_contains: 'slow' }, times: 0, reply: { text: 'word '.repeat(200), chunk_size: 5, chunk_delay_ms: 20 } },
  { when: { user_text_contains: 'hang' }, times: 0, reply: { text: 'late', first_byte_delay_ms: 30_000 } },
  { when: { user_text_contains: 'store' }, times: 0, reply: { function_calls: [{ name: 'list_customers', args: {} }] } },
  { when: { function_response: 'list_customers' }, times: 0, reply: { text: 'Listed.' } },
  { times: 0, reply: { text: 'Fine, thanks.' } },
];

/** The shapes: the body of an ES module with `Agent`, `MemoryStore`, `FAKE` and `DB` in scope. */
const SHAPES = {
  'after close()': `
    const agent = await Agent.open({ store: new MemoryStore(), geminiApiKey: '' });
    const org = await agent.ensureOrganization({ name: 'Exit', slug: 'exit' });
    await agent.callTool({ userId: 'u', organizationId: org.id, role: 'owner' }, 'list_customers', {});
    await agent.close();
  `,
  'without close(): a JS store and a file database, the agent simply dropped': `
    let agent = await Agent.open({ store: new MemoryStore(), database: DB, geminiApiKey: '' });
    const org = await agent.ensureOrganization({ name: 'Exit', slug: 'exit' });
    const ctx = { userId: 'u', organizationId: org.id, role: 'owner' };
    await agent.callTool(ctx, 'create_customer', { name: 'Left Behind' });
    await agent.status(ctx);
    agent = null;
  `,
  'a whole chat turn': `
    const { agent, ctx } = await open();
    const events = [];
    for await (const event of agent.chat(ctx, 'hello')) events.push(event);
    if (events.at(-1).type !== 'done') throw new Error(JSON.stringify(events));
  `,
  'a turn that ends in an error event': `
    const { agent, ctx } = await open();
    const events = [];
    for await (const event of agent.chat(ctx, 'please fail')) events.push(event);
    if (events.at(-1).type !== 'error') throw new Error(JSON.stringify(events));
  `,
  'a turn left with break, mid-stream': `
    const { agent, ctx } = await open();
    for await (const event of agent.chat(ctx, 'slow please')) {
      if (event.type === 'text') break;
    }
  `,
  'a turn cancelled while it waits for the model': `
    const { agent, ctx } = await open();
    const turn = agent.chat(ctx, 'hang on');
    setTimeout(() => turn.cancel(), 50);
    for await (const event of turn) {}
  `,
  'a turn never finished: one event taken, the generator left as it is': `
    const { agent, ctx } = await open();
    const turn = agent.chat(ctx, 'hang on');
    const first = await turn.next();
    if (first.value.type !== 'started') throw new Error(JSON.stringify(first));
  `,
  'a JS store with calls still running when the script ends': `
    const { agent, ctx } = await open(new MemoryStore());
    await agent.callTool(ctx, 'create_customer', { name: 'Host Ltd' });
    for await (const event of agent.chat(ctx, 'ask the store')) {}
    for (let i = 0; i < 4; i++) agent.callTool(ctx, 'list_customers', {});
  `,
  'Ctrl-C while a turn waits for the model': `
    const { agent, ctx } = await open();
    const turn = agent.chat(ctx, 'hang on');
    await turn.next();
    setTimeout(() => process.kill(process.pid, 'SIGINT'), 50);
    await turn.next();
    throw new Error('not interrupted');
  `,
};

/** What each shape must end with: an exit code, or the signal that ended it. */
const EXPECTED = { 'Ctrl-C while a turn waits for the model': 'SIGINT' };

let fake;
let dir;

before(async () => {
  fake = await startFakeGemini();
  await fake.setTurns(TURNS);
  dir = await mkdtemp(path.join(tmpdir(), 'crm-agent-exit-'));
});

after(async () => {
  fake?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Runs one shape in a fresh process; resolves to { code, output } (code: status, signal or 'kept alive'). */
function runChild(body, run) {
  const source = `
    import { Agent } from ${JSON.stringify(INDEX)};
    import { MemoryStore } from ${JSON.stringify(STORE)};
    const FAKE = process.env.FAKE_URL;
    const DB = process.env.DB_URL;
    async function open(store) {
      const agent = await Agent.open({ store, geminiBaseUrl: FAKE, geminiApiKey: 'k' });
      const org = await agent.ensureOrganization({ name: 'Exit', slug: 'exit' });
      return { agent, ctx: { userId: 'u', organizationId: org.id, role: 'owner' } };
    }
    ${body}
    console.log('script done');
  `;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', source], {
      env: { ...process.env, FAKE_URL: fake.url, DB_URL: `sqlite://${path.join(dir, `run-${run}.db`)}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let keptAlive = false;
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => {
      keptAlive = true;
      child.kill('SIGKILL');
    }, KEPT_ALIVE_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: keptAlive ? 'kept alive' : (code ?? signal), output });
    });
  });
}

for (const [name, body] of Object.entries(SHAPES)) {
  test(`${name}: ${RUNS} fresh processes each exit by themselves`, async () => {
    const expected = EXPECTED[name] ?? 0;
    const results = [];
    for (let next = 0; next < RUNS; next += PARALLEL) {
      const batch = Array.from({ length: Math.min(PARALLEL, RUNS - next) }, (_, i) => runChild(body, next + i));
      results.push(...(await Promise.all(batch)));
    }
    const bad = results.filter((r) => r.code !== expected);
    assert.deepEqual(
      bad.map((r) => r.code),
      [],
      `${bad.length}/${RUNS} runs did not end with ${expected}; last output:\n${bad.at(-1)?.output}`,
    );
    if (expected === 0) assert.ok(results.every((r) => r.output.includes('script done')));
  });
}
