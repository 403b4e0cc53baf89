// The examples of docs/node.md are the files in docs/examples/node/; this test runs each one
// (against the fake Gemini server) and checks that the doc shows each file as it is.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFile, mkdir, readFile, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { ROOT, startFakeGemini } from './helpers.mjs';

const EXAMPLES = path.join(ROOT, 'docs', 'examples', 'node');
const DOC = path.join(ROOT, 'docs', 'node.md');
// Inside the package, so that `import … from 'crm-agent'` resolves to this package.
const RUN_DIR = fileURLToPath(new URL('./.docs/', import.meta.url));

let fake;

before(async () => {
  fake = await startFakeGemini();
  await mkdir(RUN_DIR, { recursive: true });
});

after(async () => {
  fake?.stop();
  await rm(RUN_DIR, { recursive: true, force: true });
});

async function runExample(name, env = {}) {
  const file = path.join(RUN_DIR, name);
  await copyFile(path.join(EXAMPLES, name), file);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], {
      env: { ...process.env, GEMINI_API_KEY: 'test-key', GEMINI_BASE_URL: fake.url, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not finish:\n${output}`));
    }, 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

test('docs/node.md shows every example file exactly', async () => {
  const doc = await readFile(DOC, 'utf8');
  const names = (await readdir(EXAMPLES)).filter((n) => n.endsWith('.mjs')).sort();
  assert.ok(names.length >= 2);
  for (const name of names) {
    const source = (await readFile(path.join(EXAMPLES, name), 'utf8')).trimEnd();
    const marker = `<!-- docs/examples/node/${name} -->\n\`\`\`js\n`;
    const at = doc.indexOf(marker);
    assert.ok(at >= 0, `docs/node.md does not show ${name}`);
    const start = at + marker.length;
    const shown = doc.slice(start, doc.indexOf('\n```', start));
    assert.equal(shown, source, `docs/node.md shows an old version of ${name}`);
  }
});

test('quickstart.mjs', async () => {
  await fake.setTurns([
    {
      when: { user_text_contains: 'How many customers' },
      reply: { function_calls: [{ name: 'get_customer_stats', args: {} }], signatures: true },
    },
    { when: { function_response: 'get_customer_stats' }, reply: { text: 'You have 60 customers.' } },
  ]);
  const { code, output } = await runExample('quickstart.mjs');
  assert.equal(code, 0, output);
  assert.match(output, /\d+ active customers, first: /);
  assert.match(output, /error NOT_FOUND: customer not found: cus_unknown/);
  assert.match(output, /\[calling get_customer_stats\]\n\[get_customer_stats: ok\]\nYou have 60 customers\.\n\(2 model steps\)/);
});

test('host-store.mjs', async () => {
  const { code, output } = await runExample('host-store.mjs');
  assert.equal(code, 0, output);
  assert.match(output, /created Ada Lovelace; 1 customer\(s\) listed/);
  assert.match(output, /offers list_customers: true, list_deals: false/);
  assert.match(output, /NotFound: customer not found: cus_nope/);
  assert.match(output, /conformance: 2 passed, 0 failed, 0 skipped/);
});
