// An MCP client built on the official TypeScript SDK (the one the MCP
// Inspector and Claude Code use) that signs in to a server whose
// authorization server is package authserver, registering either
// dynamically (dcr) or with a Client ID Metadata Document (cimd). The Go
// test drives it and plays the user's browser over a line protocol:
// each line the client prints on stdout is a JSON object, and it reads one
// JSON line from stdin in answer to those that ask something.
//
//	node tsclient.mjs SDK_ESM_DIR MCP_URL dcr|cimd [CLIENT_ID_URL]
//
// Steps, in order:
//
//	-> {"authorize": URL}              open URL, answer {"callback": URL} (each sign-in)
//	-> {"step": "first", ...}          after the first whoami; answer {} once the access token expired
//	-> {"step": "after-expiry", ...}   whoami again (the SDK refreshes); answer {} once the test revoked
//	-> {"step": "after-revocation", "reauthorize": true|false}
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const [sdkDir, mcpURL, mode, clientIdURL] = process.argv.slice(2);
const load = (p) => import(pathToFileURL(join(sdkDir, p)).href);
const { Client } = await load('client/index.js');
const { StreamableHTTPClientTransport } = await load('client/streamableHttp.js');
const { UnauthorizedError } = await load('client/auth.js');

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function ask(msg) {
  console.log(JSON.stringify(msg));
  const { value, done } = await lines.next();
  if (done) throw new Error('the test closed stdin');
  return JSON.parse(value);
}
const say = (msg) => console.log(JSON.stringify(msg));

const redirectUrl = 'http://127.0.0.1/callback';
const store = {};
let pending; // the authorization URL the SDK asked the user to open
let authorizations = 0;
const provider = {
  get redirectUrl() { return redirectUrl; },
  get clientMetadata() {
    return {
      client_name: 'ts-e2e ' + mode,
      redirect_uris: [redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  },
  clientMetadataUrl: mode === 'cimd' ? clientIdURL : undefined,
  clientInformation() { return store.client; },
  saveClientInformation(c) { store.client = c; },
  tokens() { return store.tokens; },
  saveTokens(t) { store.tokens = t; },
  redirectToAuthorization(u) { pending = u; authorizations++; },
  saveCodeVerifier(v) { store.verifier = v; },
  codeVerifier() { return store.verifier; },
  invalidateCredentials(scope) {
    if (scope === 'all' || scope === 'client') delete store.client;
    if (scope === 'all' || scope === 'tokens') delete store.tokens;
  },
};

// browse has the test open the authorization URL, and returns the code.
async function browse() {
  const { callback } = await ask({ authorize: pending.toString() });
  pending = undefined;
  const u = new URL(callback);
  if (u.searchParams.get('error')) throw new Error('sign-in refused: ' + u.searchParams.get('error'));
  return u.searchParams.get('code');
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
const whoami = async () => (await signingIn(transport, () => client.callTool({ name: 'whoami', arguments: {} }))).structuredContent;
const state = () => ({
  client_id: store.client?.client_id,
  access_token: store.tokens?.access_token,
  refresh_token: store.tokens?.refresh_token,
  authorizations,
});

await ask({ step: 'first', whoami: await whoami(), ...state() });
await ask({ step: 'after-expiry', whoami: await whoami(), ...state() });
let reauthorize = false;
try {
  await client.callTool({ name: 'whoami', arguments: {} });
} catch (e) {
  reauthorize = e instanceof UnauthorizedError && pending !== undefined;
  if (!reauthorize) say({ error: String(e) });
}
say({ step: 'after-revocation', reauthorize, ...state() });
await client.close().catch(() => {});
process.exit(0);
