// A stdio MCP client built on the official TypeScript SDK (protocol
// 2025-11-25, the era of today's desktop clients) that starts
// "mcplambda proxy" the way Claude Desktop does and exercises what the
// proxy forwards. Usage:
//
//	node tsclient.mjs SDK_ESM_DIR CHECKS COMMAND [ARGS...]
//
// CHECKS is a comma-separated list of the groups to run: basic (tools,
// resources, templates, prompts, completion, errors), progress, logging,
// input (input_required answered through elicitation, sampling and roots).
// The client answers elicitation with name "Ada" and color "blue",
// sampling with "Paris", roots with file:///tmp/project. It prints one
// JSON object with what it got.
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

const [sdkDir, checkList, command, ...args] = process.argv.slice(2);
const checks = new Set(checkList.split(','));
const load = (p) => import(pathToFileURL(join(sdkDir, p)).href);
const { Client } = await load('client/index.js');
const { StdioClientTransport } = await load('client/stdio.js');
const types = await load('types.js');

const client = new Client({ name: 'ts-proxy-test', version: '1.0.0' },
  { capabilities: { elicitation: {}, sampling: {}, roots: { listChanged: true } } });
const asked = [];
client.setRequestHandler(types.ElicitRequestSchema, async (req) => {
  asked.push('elicitation: ' + req.params.message);
  const props = Object.keys(req.params.requestedSchema?.properties ?? {});
  const content = {};
  for (const p of props) content[p] = { name: 'Ada', color: 'blue', ok: true }[p] ?? 'x';
  return { action: 'accept', content };
});
client.setRequestHandler(types.CreateMessageRequestSchema, async () => {
  asked.push('sampling');
  return { role: 'assistant', content: { type: 'text', text: 'Paris' }, model: 'test-model' };
});
client.setRequestHandler(types.ListRootsRequestSchema, async () => {
  asked.push('roots');
  return { roots: [{ uri: 'file:///tmp/project', name: 'project' }] };
});
const logs = [];
client.setNotificationHandler(types.LoggingMessageNotificationSchema, (n) => logs.push(n.params.data));

const transport = new StdioClientTransport({ command, args, stderr: 'inherit' });
await client.connect(transport);
const out = { server: client.getServerVersion(), protocol: transport._protocolVersion ?? null };
const text = (res) => (res.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join(' ');
const error = async (f) => { try { await f(); return null; } catch (e) { return { code: e.code, message: e.message }; } };

if (checks.has('basic')) {
  out.capabilities = Object.keys(client.getServerCapabilities() ?? {}).sort();
  out.tools = (await client.listTools()).tools.map((t) => t.name);
  out.simple = text(await client.callTool({ name: 'test_simple_text' }));
  out.toolError = await client.callTool({ name: 'test_error_handling' }).then((r) => r.isError === true);
  out.unknownTool = await error(() => client.callTool({ name: 'no_such_tool' }));
  out.resources = (await client.listResources()).resources.map((r) => r.uri);
  out.templates = (await client.listResourceTemplates()).resourceTemplates.map((r) => r.uriTemplate);
  out.read = (await client.readResource({ uri: 'test://template/42/data' })).contents[0].text;
  out.prompts = (await client.listPrompts()).prompts.map((p) => p.name);
  out.prompt = text({ content: (await client.getPrompt({ name: 'test_prompt_with_arguments', arguments: { arg1: 'a', arg2: 'b' } })).messages.map((m) => m.content) });
  out.completion = (await client.complete({ ref: { type: 'ref/prompt', name: 'test_prompt_with_arguments' }, argument: { name: 'arg1', value: 'par' } })).completion.values;
}
if (checks.has('progress')) {
  // The SDK drops a progress notification it handles after the response
  // (a buffered front door delivers them together): record them with a
  // notification handler of our own, and let pending handlers run.
  const progress = [];
  let token;
  client.setNotificationHandler(types.ProgressNotificationSchema, (n) => {
    if (n.params.progressToken === token) progress.push(`${n.params.progress}/${n.params.total}`);
  });
  const call = client.callTool({ name: 'test_tool_with_progress' }, undefined, { onprogress: () => {} });
  token = client._requestMessageId - 1; // the SDK's progress token is the request's id
  await call;
  await new Promise((resolve) => setImmediate(resolve));
  out.progress = progress;
}
if (checks.has('logging')) {
  await client.setLoggingLevel('info');
  await client.callTool({ name: 'test_tool_with_logging' });
  out.logs = logs;
}
if (checks.has('input')) {
  out.elicitation = text(await client.callTool({ name: 'test_input_required_result_elicitation' }));
  out.multiRound = text(await client.callTool({ name: 'test_input_required_result_multi_round' }));
  out.sampling = text(await client.callTool({ name: 'test_input_required_result_sampling' }));
  out.roots = text(await client.callTool({ name: 'test_input_required_result_list_roots' }));
  out.asked = asked;
}
await client.close();
console.log(JSON.stringify(out));
