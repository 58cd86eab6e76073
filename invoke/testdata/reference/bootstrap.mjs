// A Lambda custom-runtime bootstrap for the reference stdio adapter,
// @aws/run-mcp-servers-with-aws-lambda: the Runtime API loop that the
// Node.js managed runtime would run, calling the adapter's
// stdioServerAdapter as the function's handler, as its README's
// direct-invoke example does. The invoke package's tests run it under the
// lambdatest emulator.
//
// Environment: AWS_LAMBDA_RUNTIME_API (set by the emulator), ADAPTER_DIR
// (the adapter package), SERVER_COMMAND and SERVER_ARGS (a JSON array):
// the stdio MCP server the adapter starts on every request.
import { pathToFileURL } from "node:url";
import { join } from "node:path";

const api = `http://${process.env.AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime`;
const { stdioServerAdapter } = await import(pathToFileURL(join(process.env.ADAPTER_DIR, "dist", "index.js")).href);
const serverParams = {
  command: process.env.SERVER_COMMAND,
  args: JSON.parse(process.env.SERVER_ARGS || "[]"),
  stderr: "ignore",
};

for (;;) {
  const next = await fetch(`${api}/invocation/next`);
  const id = next.headers.get("lambda-runtime-aws-request-id");
  const deadline = Number(next.headers.get("lambda-runtime-deadline-ms"));
  const event = await next.json();
  const context = { awsRequestId: id, getRemainingTimeInMillis: () => deadline - Date.now() };
  try {
    const response = await stdioServerAdapter(serverParams, event, context);
    await fetch(`${api}/invocation/${id}/response`, { method: "POST", body: JSON.stringify(response) });
  } catch (e) {
    await fetch(`${api}/invocation/${id}/error`, {
      method: "POST",
      headers: { "Lambda-Runtime-Function-Error-Type": "Unhandled" },
      body: JSON.stringify({ errorType: e?.name || "Error", errorMessage: String(e?.message || e) }),
    });
  }
}
