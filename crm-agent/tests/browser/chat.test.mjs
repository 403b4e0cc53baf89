// Browser test of the web chat page served by `crm-agent serve`, against the fake Gemini server.
//
// Needs the debug binaries (`cargo build -p crm-agent -p fake-gemini`), Chromium at
// /usr/bin/chromium and `npm install` here: `scripts/browser-env` sets up the last two. Run:
//   node --test crm-agent/tests/browser/chat.test.mjs
// A screenshot is saved to target/browser/chat.png (on failure too).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
// The project's scripts set CRM_AGENT_BIN_DIR; a plain `cargo build` puts them in target/debug.
const BIN_DIR = process.env.CRM_AGENT_BIN_DIR || path.join(ROOT, 'target', 'debug');
const CRM_AGENT = process.env.CRM_AGENT_BIN || path.join(BIN_DIR, 'crm-agent');
const FAKE_GEMINI = process.env.FAKE_GEMINI_BIN || path.join(BIN_DIR, 'fake-gemini');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const SCREENSHOT = path.join(ROOT, 'target', 'browser', 'chat.png');
const WAIT = 30_000;

// What the fake model answers (`user_text_contains` is case-sensitive). Turns may repeat
// (times: 0) so a retried request still matches.
const SCRIPT = {
  turns: [
    {
      when: { user_text_contains: 'many customers' },
      times: 0,
      reply: { function_calls: [{ name: 'get_customer_stats', args: {} }], signatures: true },
    },
    {
      when: { function_response: 'get_customer_stats' },
      times: 0,
      reply: {
        text: 'Here is the **customer overview**:\n\n- Active customers lead the list\n- Prospects follow\n- *VIP* accounts are few\n\nAsk me for details on any group.',
        chunk_size: 9,
      },
    },
    {
      when: { user_text_contains: 'add a customer' },
      times: 0,
      reply: { function_calls: [{ name: 'create_customer', args: { name: 'Zephyr Labs', email: 'hello@zephyr.example' } }], signatures: true },
    },
    {
      when: { function_response: 'create_customer' },
      times: 0,
      reply: { text: 'I prepared **Zephyr Labs** as a new customer. Please confirm it in the card.', chunk_size: 12 },
    },
    {
      when: { user_text_contains: 'my account' },
      times: 0,
      reply: { function_calls: [{ name: 'list_customers', args: {} }], signatures: true },
    },
    {
      when: { function_response: 'list_customers' },
      times: 0,
      reply: { text: 'I found **your customer record**.', chunk_size: 10 },
    },
  ],
};

/** Starts a server and resolves `url` with the value of the first stdout line starting with `prefix`. */
function startServer(name, command, args, { env = {}, prefix, keepStdin = false }) {
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: [keepStdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  const output = [];
  const remember = (text) => {
    output.push(text);
    if (output.length > 200) output.shift();
  };
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', remember);
  const url = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not print ${prefix} within ${WAIT} ms:\n${output.join('')}`)), WAIT);
    createInterface({ input: child.stdout }).on('line', (line) => {
      remember(`${line}\n`);
      if (line.startsWith(prefix)) {
        clearTimeout(timer);
        resolve(line.slice(prefix.length).trim());
      }
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${name} could not start (${command}): ${error.message}`));
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before printing ${prefix}:\n${output.join('')}`));
    });
  });
  url.catch(() => {}); // observed by the awaiting code; no unhandled rejection if nobody waits
  return { name, child, url, output: () => output.join('') };
}

async function stopServer(server) {
  if (!server || server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.stdin?.end();
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

let workDir;
let fake;
let crm;
let fakeUrl;
let baseUrl;
let browser;
let page;
const pageErrors = [];

before(async () => {
  for (const [what, file, hint] of [
    ['crm-agent binary', CRM_AGENT, 'cargo build -p crm-agent'],
    ['fake-gemini binary', FAKE_GEMINI, 'cargo build -p fake-gemini'],
    ['Chromium', CHROMIUM, 'scripts/browser-env'],
  ]) {
    assert.ok(existsSync(file), `${what} not found at ${file} (run \`${hint}\`)`);
  }
  workDir = await mkdtemp(path.join(tmpdir(), 'crm-agent-browser-'));
  const scriptFile = path.join(workDir, 'gemini-script.json');
  await writeFile(scriptFile, JSON.stringify(SCRIPT, null, 2));

  fake = startServer('fake-gemini', FAKE_GEMINI, ['--script', scriptFile, '--exit-on-stdin-eof'], {
    prefix: 'FAKE_GEMINI_URL=',
    keepStdin: true,
  });
  fakeUrl = await fake.url;

  crm = startServer('crm-agent serve', CRM_AGENT, ['serve', '--db', `sqlite://${path.join(workDir, 'crm.db')}`, '--addr', '127.0.0.1:0'], {
    prefix: 'CRM_AGENT_URL=',
    env: { GEMINI_API_KEY: 'test-key', GEMINI_BASE_URL: fakeUrl, GEMINI_MODEL: 'gemini-test' },
  });
  baseUrl = (await crm.url).replace(/\/$/, '');

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
  page.setDefaultTimeout(WAIT);
  page.on('pageerror', (error) => pageErrors.push(String(error)));
});

after(async () => {
  if (page) {
    try {
      await mkdir(path.dirname(SCREENSHOT), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
    } catch (error) {
      console.error(`could not save the screenshot: ${error.message}`);
    }
  }
  await browser?.close().catch(() => {});
  await stopServer(crm);
  await stopServer(fake);
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

const byTestId = (id, extra = '') => page.locator(`[data-testid="${id}"]${extra}`);

async function signInAs(userId) {
  await byTestId('demo-user', `[data-user-id="${userId}"]`).click();
  await byTestId('whoami').waitFor();
  await page.waitForFunction(() => document.getElementById('app') && !document.getElementById('app').hidden);
}

async function ask(message) {
  await byTestId('message-input').fill(message);
  await byTestId('message-input').press('Enter');
}

/** Waits for `selector`, or fails at once with the text of an error bubble the chat shows. */
async function waitInChat(selector) {
  await page.locator(`${selector}, [data-testid="error-message"]`).first().waitFor();
  const errors = byTestId('error-message');
  if ((await errors.count()) > 0) throw new Error(`the chat shows an error: ${await errors.first().textContent()}`);
  return page.locator(selector);
}

async function turnFinished() {
  await page.waitForFunction(() => document.querySelector('[data-testid="message-log"]')?.dataset.busy === 'false');
}

test('web chat: sign in, stream an answer with a tool, confirm a write, stay within the user', async () => {
  try {
    await page.goto(baseUrl);

    // -- acme-owner, through the demo picker.
    await signInAs('acme-owner');
    const who = await byTestId('whoami').textContent();
    assert.match(who, /owner/i);
    assert.match(who, /Acme/);
    const banner = byTestId('status-banner');
    assert.ok((await banner.isHidden()) || (await banner.getAttribute('data-kind')) !== 'model-not-configured', 'a configured model is not reported as missing');

    // A read: the tool chip, then the streamed Markdown answer.
    await ask('How many customers do we have?');
    await waitInChat('[data-testid="tool-chip"][data-tool="get_customer_stats"][data-status="ok"]');
    await turnFinished();
    const answer = byTestId('assistant-message').last();
    assert.equal(await answer.locator('strong').first().textContent(), 'customer overview');
    assert.equal(await answer.locator('li').count(), 3);
    assert.equal(await answer.locator('em').first().textContent(), 'VIP');
    await byTestId('conversation-item').first().waitFor();
    assert.equal(await byTestId('conversation-item').count(), 1);

    // A write: the confirmation card, confirmed once.
    await ask('Please add a customer named Zephyr Labs');
    await waitInChat('[data-testid="confirmation-card"]');
    assert.match(await byTestId('confirmation-summary').textContent(), /Zephyr Labs/);
    assert.equal(await byTestId('confirmation-tool').textContent(), 'create_customer');
    await turnFinished();
    assert.match(await byTestId('assistant-message').last().textContent(), /Zephyr Labs/);
    assert.equal(await byTestId('conversation-item').count(), 1, 'the second message continued the same conversation');
    await byTestId('confirm-button').click();
    await page.locator('[data-testid="confirmation-card"][data-state="succeeded"]').waitFor();
    assert.match(await byTestId('confirmation-outcome').textContent(), /Zephyr Labs/);
    assert.ok(await byTestId('confirm-button').isDisabled());
    assert.ok(await byTestId('reject-button').isDisabled());

    // Reopening the conversation renders the stored history; nothing is pending any more.
    await byTestId('new-conversation').click();
    await byTestId('empty-conversation').waitFor();
    await byTestId('conversation-open').first().click();
    await byTestId('tool-chip', '[data-tool="get_customer_stats"][data-status="ok"]').waitFor();
    assert.equal(await byTestId('user-message').count(), 2);
    assert.equal(await byTestId('assistant-message').first().locator('strong').first().textContent(), 'customer overview');
    assert.equal(await byTestId('confirmation-card').count(), 0);

    // -- acme-customer: their own (empty) conversations, no lead tools, only their record.
    await byTestId('sign-out').click();
    await byTestId('signin-message').waitFor();
    await signInAs('acme-customer');
    assert.match(await byTestId('whoami').textContent(), /customer/i);
    await byTestId('no-conversations').waitFor();
    assert.equal(await byTestId('conversation-item').count(), 0, 'conversations belong to their user');
    const tools = await page.evaluate(async () => {
      const response = await fetch('/api/tools', { headers: { Authorization: `Bearer ${sessionStorage.getItem('crm-agent.token')}` } });
      return { status: response.status, names: (await response.json()).map((tool) => tool.name) };
    });
    assert.equal(tools.status, 200);
    assert.ok(!tools.names.includes('list_leads'), `a customer is offered no lead tools: ${tools.names.join(', ')}`);
    assert.ok(!tools.names.includes('create_customer'));

    await ask('Show my account');
    const chip = await waitInChat('[data-testid="tool-chip"][data-tool="list_customers"][data-status="ok"]');
    assert.equal(await chip.locator('[data-testid="tool-chip-summary"]').textContent(), '1 of 1 results');
    await turnFinished();
    assert.match(await byTestId('assistant-message').last().textContent(), /your customer record/);

    const violations = await (await fetch(`${fakeUrl}/_fake/violations`)).json();
    assert.deepEqual(violations, [], 'the fake Gemini server saw well-formed requests');
    assert.deepEqual(pageErrors, [], 'no script errors on the page');
  } catch (error) {
    if (crm) console.error(`--- crm-agent output ---\n${crm.output()}`);
    if (fake) console.error(`--- fake-gemini output ---\n${fake.output()}`);
    throw error;
  }
});
