// An MCP client built on the official TypeScript SDK (the one the MCP
// Inspector uses): it connects to an MCP endpoint over streamable HTTP,
// lists the tools and calls one. Usage:
//
//	node client.mjs SDK_ESM_DIR MCP_URL TOOL ARGUMENTS_JSON
//
// It prints one JSON object: {"tools": [names...], "result": CallToolResult}.
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

const [sdkDir, mcpURL, tool, args] = process.argv.slice(2);
const load = (p) => import(pathToFileURL(join(sdkDir, p)).href);
const { Client } = await load('client/index.js');
const { StreamableHTTPClientTransport } = await load('client/streamableHttp.js');

const client = new Client({ name: 'ts-alb', version: '1.0.0' });
await client.connect(new StreamableHTTPClientTransport(new URL(mcpURL)));
const { tools } = await client.listTools();
const result = await client.callTool({ name: tool, arguments: JSON.parse(args) });
console.log(JSON.stringify({ tools: tools.map((t) => t.name).sort(), result }));
await client.close();
