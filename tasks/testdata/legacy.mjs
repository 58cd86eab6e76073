// A 2025-11-25 client of the experimental tasks (SEP-1686), built on the
// official TypeScript SDK's task API (client.experimental.tasks). Usage:
//
//	node legacy.mjs SDK_ESM_DIR MCP_URL BEARER
//
// It prints one JSON object with what it saw.
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

const [sdkDir, mcpURL, bearer] = process.argv.slice(2);
const load = (p) => import(pathToFileURL(join(sdkDir, p)).href);
const { Client } = await load('client/index.js');
const { StreamableHTTPClientTransport } = await load('client/streamableHttp.js');
const { CreateTaskResultSchema } = await load('types.js');

const client = new Client({ name: 'ts-legacy-tasks', version: '1.0.0' });
await client.connect(new StreamableHTTPClientTransport(new URL(mcpURL), {
  requestInit: { headers: { Authorization: `Bearer ${bearer}` } },
}));
const out = { capabilities: client.getServerCapabilities(), protocol: client.transport.protocolVersion };
const { tools } = await client.listTools();
out.execution = Object.fromEntries(tools.filter((t) => t.execution).map((t) => [t.name, t.execution]));

// A required task tool, followed to its result by the SDK.
out.stream = [];
for await (const msg of client.experimental.tasks.callToolStream({ name: 'later', arguments: { name: 'ts' } })) {
  out.stream.push(msg.type === 'result' ? { type: msg.type, result: msg.result } : msg.type === 'error' ? { type: msg.type, error: String(msg.error) } : { type: msg.type, status: msg.task.status, ttl: msg.task.ttl, pollInterval: msg.task.pollInterval, taskId: msg.task.taskId });
}

// An optional task tool: a plain result for this client.
out.echo = await client.callTool({ name: 'echo', arguments: { name: 'plain' } });

// Cancel a running task; cancelling it again is an error.
const created = await client.request({ method: 'tools/call', params: { name: 'wait', arguments: {} } }, CreateTaskResultSchema, { task: {} });
out.cancelled = await client.experimental.tasks.cancelTask(created.task.taskId);
out.afterCancel = (await client.experimental.tasks.getTask(created.task.taskId)).status;
const code = async (f) => { try { await f(); return 0; } catch (e) { return e.code; } };
out.cancelAgainCode = await code(() => client.experimental.tasks.cancelTask(created.task.taskId));
out.unknownCode = await code(() => client.experimental.tasks.getTask('nope'));
out.listCode = await code(() => client.experimental.tasks.listTasks());
console.log(JSON.stringify(out));
await client.close();
