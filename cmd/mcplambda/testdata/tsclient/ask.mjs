// Two users of the official TypeScript SDK's client against a server whose
// tool "ask" sends them requests (elicitation, then sampling) mid-call.
// Alice calls ask; while her elicitation handler runs, Bob tries to answer
// her elicitation request with raw POSTs (in her session, then in his own,
// then with a made-up id in his own), and then Alice answers. Usage:
//
//	node ask.mjs SDK_ESM_DIR MCP_URL ALICE_TOKEN BOB_TOKEN
//
// It prints one JSON object: the tool's result, the requests Alice's
// handlers saw, the progress notifications she had received when her
// elicitation handler ran, and the status and body of Bob's three POSTs.
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

const [sdkDir, mcpURL, aliceToken, bobToken] = process.argv.slice(2);
const load = (p) => import(pathToFileURL(join(sdkDir, p)).href);
const { Client } = await load('client/index.js');
const { StreamableHTTPClientTransport } = await load('client/streamableHttp.js');
const { ElicitRequestSchema, CreateMessageRequestSchema } = await load('types.js');

const transport = (token) => new StreamableHTTPClientTransport(new URL(mcpURL), { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
const post = async (token, session, message) => {
  const r = await fetch(mcpURL, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json', Accept: 'application/json, text/event-stream',
      Authorization: `Bearer ${token}`, 'Mcp-Session-Id': session, 'Mcp-Protocol-Version': '2025-11-25',
    },
    body: JSON.stringify(message),
  });
  return { status: r.status, body: await r.text() };
};

const bob = new Client({ name: 'bob', version: '1.0.0' });
const bobTransport = transport(bobToken);
await bob.connect(bobTransport);

const out = { requests: [], progress: [] };
const alice = new Client({ name: 'alice', version: '1.0.0' }, { capabilities: { elicitation: {}, sampling: {} } });
const aliceTransport = transport(aliceToken);
alice.setRequestHandler(ElicitRequestSchema, async (req, extra) => {
  out.requests.push(req.method);
  out.progressBeforeElicitation = out.progress.length;
  const forged = { jsonrpc: '2.0', id: extra.requestId, result: { action: 'accept', content: { name: 'Mallory' } } };
  out.bobInAlicesSession = await post(bobToken, aliceTransport.sessionId, forged);
  out.bobInHisSession = await post(bobToken, bobTransport.sessionId, forged);
  out.unknownInBobsSession = await post(bobToken, bobTransport.sessionId, { ...forged, id: 'mcplambda-' + 'A'.repeat(26) });
  return { action: 'accept', content: { name: 'Ada' } };
});
alice.setRequestHandler(CreateMessageRequestSchema, async (req) => {
  out.requests.push(req.method);
  return { model: 'test-model', role: 'assistant', content: { type: 'text', text: `hello, ${req.params.messages[0].content.text}` } };
});
await alice.connect(aliceTransport);
out.protocolVersion = aliceTransport.protocolVersion;
out.result = await alice.callTool({ name: 'ask', arguments: {} }, undefined, {
  onprogress: (p) => out.progress.push(p.message ?? String(p.progress)),
  timeout: 60000,
});
console.log(JSON.stringify(out));
await alice.close();
await bob.close();
