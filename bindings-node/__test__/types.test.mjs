// index.d.ts type-checks against a program that uses the whole API (types.mts), with tsc, and
// its HostStoreMethods interface declares the core's host methods.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

test('index.d.ts describes the API (tsc --noEmit)', () => {
  const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
  const project = fileURLToPath(new URL('./tsconfig.json', import.meta.url));
  const result = spawnSync(process.execPath, [tsc, '-p', project], { encoding: 'utf8' });
  assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
});

test("index.d.ts's HostStoreMethods declares exactly the core's host methods, with their arguments", async () => {
  const { hostStoreMethods } = await import('../index.mjs');
  const dts = readFileSync(fileURLToPath(new URL('../index.d.ts', import.meta.url)), 'utf8');
  const body = dts.slice(dts.indexOf('export interface HostStoreMethods {'), dts.indexOf('// </host-store-methods>'));
  const declared = Object.fromEntries(
    [...body.matchAll(/^ {2}(\w+)\(args: \{ (.*) \}\): /gm)].map(([, name, args]) => [
      name,
      args.split('; ').map((arg) => arg.slice(0, arg.indexOf(':'))),
    ]),
  );
  const camel = (name) => name.replace(/_(\w)/g, (_, letter) => letter.toUpperCase());
  const core = Object.fromEntries(hostStoreMethods().map((m) => [camel(m.name), m.args.map((arg) => arg.name)]));
  assert.ok(Object.keys(core).length > 60);
  assert.deepEqual(declared, core);
});

test("docs/node.md's table of store methods names the core's methods with their arguments", async () => {
  const { hostStoreMethods } = await import('../index.mjs');
  const camel = (name) => name.replace(/_(\w)/g, (_, letter) => letter.toUpperCase());
  const core = new Map(hostStoreMethods().map((m) => [camel(m.name), m.args.map((arg) => arg.name)]));
  const docs = readFileSync(fileURLToPath(new URL('../../docs/node.md', import.meta.url)), 'utf8');
  const rows = docs.split('\n').filter((line) => line.startsWith('| ') && line.includes('`'));
  const named = [...rows.join('\n').matchAll(/`(\w+)\((?:\{([\w, ]*)\})?\)`/g)];
  assert.ok(named.length > 30);
  for (const [, name, args] of named) {
    assert.ok(core.has(name), `docs/node.md names ${name}, which is not a host method`);
    if (args === undefined) continue;
    const listed = args.split(',').map((arg) => arg.trim()).filter(Boolean);
    assert.deepEqual(listed, core.get(name).filter((arg) => arg !== 'scope'), `${name}'s arguments`);
  }
});
