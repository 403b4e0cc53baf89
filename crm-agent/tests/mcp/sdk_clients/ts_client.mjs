// Lists the tools and calls each with an official MCP TypeScript SDK (`sdk-1.17`: 1.17.5, from
// before protocol 2025-11-25; `sdk-1.32`: 1.32.2) over Streamable HTTP; prints
// {"tools": N, "called": bool, "errors": [...]} where errors are what the SDK reported through
// onerror (it reports an SSE event it cannot parse, and goes on) and what it warned about on the
// console (its schema validator's `unknown format "uint64" ignored`, say).
//
// Usage: node ts_client.mjs SDK URL TOKEN
const [sdk, url, token] = process.argv.slice(2);
const { Client } = await import(`${sdk}/client/index.js`);
const { StreamableHTTPClientTransport } = await import(`${sdk}/client/streamableHttp.js`);

const errors = [];
const warn = console.warn;
console.warn = (...args) => errors.push(`warning: ${args.join(' ')}`);
const client = new Client({ name: 'sdk-client', version: '0' });
client.onerror = (error) => errors.push(String(error?.message ?? error));
const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${token}` } },
});
await client.connect(transport);
const tools = await client.listTools();
const called = await client.callTool({ name: 'get_current_user_context', arguments: {} });
// Every tool's output schema goes through Ajv, as a client validating results compiles them.
for (const tool of tools.tools) {
  await client.callTool({ name: tool.name, arguments: {} }).catch(() => {});
}
console.warn = warn;
await transport.terminateSession().catch((error) => errors.push(`terminate: ${error.message}`));
await client.close();
console.log(JSON.stringify({ tools: tools.tools.length, called: !called.isError, errors }));
