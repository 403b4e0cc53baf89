// Shared test helpers: the fake Gemini server (the workspace's `fake-gemini` binary) and an
// agent over a seeded in-memory database.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { Agent } from '../index.mjs';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TARGET = process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target');
export const FAKE_GEMINI =
  process.env.FAKE_GEMINI_BIN || path.join(process.env.CRM_AGENT_BIN_DIR || path.join(TARGET, 'debug'), 'fake-gemini');

/**
 * Starts `fake-gemini` with an empty script. Resolves to `{ url, setTurns, addTurns, requests, violations, waitForStream, stop }`.
 * It exits when this process does (its stdin closes).
 */
export async function startFakeGemini() {
  if (!existsSync(FAKE_GEMINI)) {
    throw new Error(`${FAKE_GEMINI} is missing: run \`cargo build -p fake-gemini\` (scripts/node-test does)`);
  }
  const child = spawn(FAKE_GEMINI, ['--exit-on-stdin-eof'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const log = [];
  child.stderr.setEncoding('utf8').on('data', (text) => log.push(text));
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`fake-gemini did not start:\n${log.join('')}`)), 20_000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('FAKE_GEMINI_URL=')) {
        clearTimeout(timer);
        resolve(line.slice('FAKE_GEMINI_URL='.length).trim());
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`fake-gemini exited (${code}):\n${log.join('')}`));
    });
  });
  child.unref();
  child.stdout.unref?.();
  child.stderr.unref?.();
  const control = async (route, body) => {
    const response = await fetch(`${url}/_fake/${route}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`fake-gemini ${route}: ${response.status} ${await response.text()}`);
    return response.json().catch(() => null);
  };
  return {
    url,
    /** Replaces the script with these turns (and forgets recorded requests). */
    setTurns: (turns, extra = {}) => control('reset', { turns, ...extra }),
    /** Appends turns (keeps what the fake emitted, so a continued conversation still checks out). */
    addTurns: (turns) => control('turns', turns),
    requests: () => control('requests'),
    violations: () => control('violations'),
    /**
     * Waits until the latest streamed reply has reached `state` (`sending`, `sent`, `abandoned`)
     * and resolves to its request: a cancelled turn has hung up on the model once its stream is
     * `abandoned`; it then stores what it keeps, so a test waits for that write too.
     */
    async waitForStream(state, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const streamed = (await control('requests')).filter((request) => request.stream);
        const latest = streamed.at(-1);
        if (latest?.stream === state) return latest;
        if (Date.now() > deadline) throw new Error(`no streamed reply reached ${state} (the latest: ${latest?.stream})`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    stop() {
      child.stdin.end();
      child.kill();
    },
  };
}

/** Opens an agent on a fresh in-memory database with the demo data, and the demo users' contexts. */
export async function seededAgent(options = {}) {
  const agent = await Agent.open({ geminiApiKey: 'test-key', ...options });
  await agent.seedDemo({ customers: 12, leads: 8, deals: 8, issues: 6, orders: 4, activities: 4 });
  const ctx = {
    owner: await agent.resolveContext('acme-owner'),
    rep: await agent.resolveContext('acme-rep'),
    support: await agent.resolveContext('acme-support'),
    customer: await agent.resolveContext('acme-customer'),
    globex: await agent.resolveContext('globex-owner'),
  };
  return { agent, ctx };
}

/** Collects every event of a chat turn. */
export async function collect(turn) {
  const events = [];
  for await (const event of turn) events.push(event);
  return events;
}

/** The text of a turn's `text` events. */
export const textOf = (events) => events.filter((e) => e.type === 'text').map((e) => e.delta).join('');
