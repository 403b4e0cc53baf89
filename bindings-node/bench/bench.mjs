// Benchmark of the Node binding; prints its figures. Build the addon in release mode first:
//   (cd bindings-node && npx napi build --platform --release --js native.cjs --dts native.d.ts -- --features bench)
//   node bench/bench.mjs
//
// 1. callTool overhead: the same tool called N times (one at a time, then 8 loops at once), from JavaScript
//    (`await agent.callTool(…)`) and from Rust inside the addon (`CrmAgent::call_tool` in a
//    loops, same agent, same arguments); the difference per call is what the binding adds
//    (context and argument conversion, the promise, result conversion, error mapping).
//    Both as wall time and as CPU time of the whole process (every thread) per call.
//    For scale: an empty napi async function, one at a time and all at once.
// 2. Streaming: one chat turn whose model (in memory, no HTTP) streams N text deltas at once;
//    events per second as a `for await` loop in JavaScript receives them, and as Rust consumes
//    the same turn inside the addon.
//
// The callTool agent uses a SQLite file in a temporary directory (removed at the end).
// Environment: BENCH_CALLS (default 20,000), BENCH_EVENTS (default 500,000), BENCH_ROUNDS (5).

import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

const require = createRequire(import.meta.url);
const { Agent, _internal } = require('../index.cjs');

const CALLS = Number(process.env.BENCH_CALLS ?? 20_000);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 500_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const us = (ns) => `${(ns / 1000).toFixed(2)} µs`;

/** JS and Rust time per call of `name`, with `concurrency` loops of sequential calls each. */
async function timeCalls(agent, ctx, name, args, concurrency) {
  const native = agent._native;
  const ctxJson = JSON.stringify(ctx);
  const js = [];
  const rust = [];
  const jsCpu = [];
  const rustCpu = [];
  const perLoop = Math.floor(CALLS / concurrency);
  // CPU time of the whole process (every thread) per call, in ns.
  const cpuSince = (before) => {
    const used = process.cpuUsage(before);
    return (used.user + used.system) * 1000;
  };
  for (let round = 0; round < ROUNDS; round++) {
    let cpu = process.cpuUsage();
    const started = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let i = 0; i < perLoop; i++) await agent.callTool(ctx, name, args);
      }),
    );
    js.push(Number(process.hrtime.bigint() - started) / (perLoop * concurrency));
    jsCpu.push(cpuSince(cpu) / (perLoop * concurrency));
    cpu = process.cpuUsage();
    const timing = await native.benchCallToolInRust(ctxJson, name, args, CALLS, concurrency);
    rust.push(timing.nanos / timing.count);
    rustCpu.push(cpuSince(cpu) / timing.count);
  }
  return { js: median(js), rust: median(rust), jsCpu: median(jsCpu), rustCpu: median(rustCpu) };
}

async function callToolOverhead(agent, ctx, name, args) {
  // Warm up both paths (JIT, caches, the audit queue's first batches).
  for (let i = 0; i < 1_000; i++) await agent.callTool(ctx, name, args);
  await agent._native.benchCallToolInRust(JSON.stringify(ctx), name, args, 1_000, 1);
  const results = {};
  for (const concurrency of [1, 8]) {
    const { js, rust, jsCpu, rustCpu } = await timeCalls(agent, ctx, name, args, concurrency);
    results[concurrency] = js - rust;
    console.log(
      `callTool ${name.padEnd(18)} ${concurrency === 1 ? 'one at a time' : `${concurrency} at a time  `}: ` +
        `wall JS ${us(js)}/call, Rust ${us(rust)}/call, binding overhead ${us(js - rust)}/call; ` +
        `CPU (all threads) JS ${us(jsCpu)}, Rust ${us(rustCpu)}, overhead ${us(jsCpu - rustCpu)}/call`,
    );
  }
  return results;
}

/** The floor of any call answered through a promise: an empty napi async function. */
async function promiseRoundTrip() {
  const noop = _internal.native.benchAsyncNoop;
  for (let i = 0; i < 1_000; i++) await noop();
  const sequential = [];
  const parallel = [];
  for (let round = 0; round < ROUNDS; round++) {
    let started = process.hrtime.bigint();
    for (let i = 0; i < CALLS; i++) await noop();
    sequential.push(Number(process.hrtime.bigint() - started) / CALLS);
    started = process.hrtime.bigint();
    await Promise.all(Array.from({ length: CALLS }, () => noop()));
    parallel.push(Number(process.hrtime.bigint() - started) / CALLS);
  }
  console.log(
    `empty napi async function (JS → runtime → promise resolved on the JS thread): ` +
      `${us(median(sequential))}/call one at a time, ${us(median(parallel))}/call all at once`,
  );
}

async function streaming() {
  const agent = _internal.wrapAgent(await _internal.native.openBenchAgent(EVENTS));
  const org = await agent.ensureOrganization({ name: 'Bench', slug: 'bench' });
  const ctx = { userId: 'bench', organizationId: org.id, role: 'owner' };
  const js = [];
  const rust = [];
  for (let round = 0; round < ROUNDS; round++) {
    let texts = 0;
    let count = 0;
    const started = process.hrtime.bigint();
    for await (const event of agent.chat(ctx, `stream ${round}`)) {
      count++;
      if (event.type === 'text') texts++;
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (texts !== EVENTS) throw new Error(`expected ${EVENTS} text events, got ${texts}`);
    js.push(count / seconds);
    const timing = await agent._native.benchChatInRust(JSON.stringify(ctx), `rust ${round}`);
    rust.push(timing.count / (timing.nanos / 1e9));
  }
  const fmt = (n) => `${Math.round(n).toLocaleString('en-US')} events/s`;
  console.log(
    `streaming into JS (for await): ${fmt(median(js))}; the same turn consumed in Rust: ${fmt(median(rust))} ` +
      `(median of ${ROUNDS} turns of ${EVENTS.toLocaleString('en-US')} text events, in-memory model)`,
  );
  await agent.close();
  return median(js);
}

// A file database: reads use their own pool, apart from the connection the audit log writes on.
const dir = mkdtempSync(path.join(tmpdir(), 'crm-agent-bench-'));
const agent = await Agent.open({ geminiApiKey: '', database: `sqlite://${path.join(dir, 'bench.db')}` });
await agent.seedDemo({ customers: 200, leads: 50, deals: 50, issues: 20, orders: 20, activities: 20 });
const rep = await agent.resolveContext('acme-rep');
const owner = await agent.resolveContext('acme-owner');
const customer = (await agent.callTool(owner, 'list_customers', { limit: 1 })).items[0];

console.log(`node ${process.version}, ${process.arch}; addon: ${require.resolve('../native.cjs')}`);
console.log(`(median of ${ROUNDS} rounds of ${CALLS} calls; "8 at a time": 8 loops of sequential calls, in JS and in Rust)`);
await promiseRoundTrip();
const cheap = await callToolOverhead(agent, rep, 'get_my_permissions', {});
const real = await callToolOverhead(agent, owner, 'get_customer', { customer_id: customer.id });
await agent.close();
const rate = await streaming();
rmSync(dir, { recursive: true, force: true });

console.log(
  `\ntargets: callTool overhead ≤ 15 µs: no I/O ${cheap[1] <= 15_000 ? 'met' : 'NOT met'}, ` +
    `get_customer one at a time ${real[1] <= 15_000 ? 'met' : 'NOT met'}, 8 at a time ${real[8] <= 15_000 ? 'met' : 'NOT met'}; ` +
    `streaming ≥ 200,000 events/s: ${rate >= 200_000 ? 'met' : 'NOT met'}`,
);
