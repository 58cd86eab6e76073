// Times the reference stdio adapter, @aws/run-mcp-servers-with-aws-lambda,
// on a direct-invoke event: its stdioServerAdapter starts the server,
// initializes it, forwards the request and shuts the server down, on every
// invocation. Run by scripts/bench-stdio.sh:
//   node bench-stdio-reference.mjs ADAPTER_DIR NODE SERVER_JS RUNS
import { pathToFileURL } from "node:url";
import { join } from "node:path";

const [adapterDir, node, serverJS, runsArg] = process.argv.slice(2);
const runs = Number(runsArg || 30);
const { stdioServerAdapter } = await import(pathToFileURL(join(adapterDir, "dist", "index.js")).href);
const serverParams = { command: node, args: [serverJS, "stdio"], stderr: "ignore" };
const event = { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "echo", arguments: { message: "hello" } } };
const context = { awsRequestId: "bench", getRemainingTimeInMillis: () => 30000 };

const samples = [];
for (let i = 0; i < runs + 2; i++) {
  const start = performance.now();
  const res = await stdioServerAdapter(serverParams, event, context);
  const ms = performance.now() - start;
  if (res?.result?.content?.[0]?.text !== "Echo: hello") {
    throw new Error("unexpected response: " + JSON.stringify(res));
  }
  if (i >= 2) samples.push(ms); // the first two warm up node's module cache
}
samples.sort((a, b) => a - b);
const pct = (p) => samples[Math.min(samples.length - 1, Math.floor(samples.length * p))];
console.log(JSON.stringify({ runs, p50: pct(0.5), p99: pct(0.99), response: "Echo: hello" }));
