// An MCP client built on the official TypeScript SDK (the one the MCP
// Inspector uses) that signs in to a protected server with the SDK's own
// OAuth support, then calls whoami and delete (which needs a step-up).
// The test plays the user's browser: it opens the authorization URL and
// hands the code back. Usage:
//
//	node client.mjs SDK_ESM_DIR MCP_URL CLIENT_ID
//
// It prints one JSON object: {"whoami": {...}, "delete": true}.
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

const [sdkDir, mcpURL, clientId] = process.argv.slice(2);
const load = (p) => import(pathToFileURL(join(sdkDir, p)).href);
const { Client } = await load('client/index.js');
const { StreamableHTTPClientTransport } = await load('client/streamableHttp.js');
const { UnauthorizedError } = await load('client/auth.js');

const redirectUrl = 'http://127.0.0.1/callback';
const store = {};
let pending; // the authorization URL the SDK asked the user to open
const provider = {
  get redirectUrl() { return redirectUrl; },
  get clientMetadata() {
    return { client_name: 'ts-e2e', redirect_uris: [redirectUrl], grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'none' };
  },
  clientInformation() { return { client_id: clientId }; },
  tokens() { return store.tokens; },
  saveTokens(t) { store.tokens = t; },
  redirectToAuthorization(u) { pending = u; },
  saveCodeVerifier(v) { store.verifier = v; },
  codeVerifier() { return store.verifier; },
};

// browse does what the user's browser would: open the URL, take the code.
async function browse() {
  const resp = await fetch(pending, { redirect: 'manual' });
  pending = undefined;
  const loc = resp.headers.get('location');
  if (!loc) throw new Error(`authorization endpoint answered ${resp.status}`);
  return new URL(loc).searchParams.get('code');
}

// signingIn retries op after completing each sign-in the SDK starts.
async function signingIn(transport, op) {
  for (let i = 0; i < 3; i++) {
    try {
      return await op();
    } catch (e) {
      if (!(e instanceof UnauthorizedError) || !pending) throw e;
      await transport.finishAuth(await browse());
    }
  }
  throw new Error('too many sign-ins');
}

let client, transport;
for (let i = 0; ; i++) {
  transport = new StreamableHTTPClientTransport(new URL(mcpURL), { authProvider: provider });
  client = new Client({ name: 'ts-e2e', version: '1.0.0' });
  try {
    await client.connect(transport);
    break;
  } catch (e) {
    if (i > 2 || !(e instanceof UnauthorizedError) || !pending) throw e;
    await transport.finishAuth(await browse());
  }
}
const who = await signingIn(transport, () => client.callTool({ name: 'whoami', arguments: {} }));
const del = await signingIn(transport, () => client.callTool({ name: 'delete', arguments: {} }));
console.log(JSON.stringify({ whoami: who.structuredContent, delete: !del.isError }));
await client.close();
