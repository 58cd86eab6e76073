// An MCP client built on the official TypeScript SDK (protocol
// 2025-11-25) that connects to a gateway over streamable HTTP, lists its
// tools and calls some. Usage:
//
//	node tsclient.mjs SDK_ESM_DIR MCP_URL CALLS_JSON
//
// CALLS_JSON is an array of {"name": TOOL, "arguments": {...}}. It prints
// one JSON object: {"protocol": VERSION, "tools": [names...], "results":
// [{"text": TEXT} or {"error": MESSAGE}, ...]}.
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

const [sdkDir, mcpURL, calls] = process.argv.slice(2);
const load = (p) => import(pathToFileURL(join(sdkDir, p)).href);
const { Client } = await load('client/index.js');
const { StreamableHTTPClientTransport } = await load('client/streamableHttp.js');

const client = new Client({ name: 'ts-gateway-test', version: '1.0.0' });
const transport = new StreamableHTTPClientTransport(new URL(mcpURL));
await client.connect(transport);
const { tools } = await client.listTools();
const results = [];
for (const call of JSON.parse(calls)) {
  try {
    const res = await client.callTool(call);
    results.push({ text: (res.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join(' '), isError: res.isError === true });
  } catch (e) {
    results.push({ error: String(e.message ?? e) });
  }
}
console.log(JSON.stringify({ protocol: transport.protocolVersion ?? null, tools: tools.map((t) => t.name), results }));
await client.close();
