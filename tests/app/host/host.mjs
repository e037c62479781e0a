// A reference MCP Apps host for tests: the ext-apps AppBridge in a page, an MCP client over streamable HTTP.
// Bundled by esbuild (tests/app/conftest.py) into one file the test page loads; the page shows the server's
// ui:// resource in a sandboxed frame exactly as a host does, and the driver reads the frame's DOM.
import { AppBridge, PostMessageTransport, getToolUiResourceUri } from "@modelcontextprotocol/ext-apps/app-bridge";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";

const HOST = { name: "gigachat-mcp test host", version: "1.0.0" };
const APPS = { "io.modelcontextprotocol/ui": { mimeTypes: ["text/html;profile=mcp-app"] } };
const log = (...args) => console.log("[HOST]", ...args);

async function connect() {
  const client = new Client(HOST, { capabilities: { extensions: APPS } });
  await client.connect(new StreamableHTTPClientTransport(new URL("/mcp", location.href)));
  return client;
}

// Runs one `chat` call the way an Apps host does: show the tool's page, hand it the arguments, call the tool,
// hand the page the result. Resolves with what the test needs; the page keeps running. `serverTools = false` is a host
// that shows the page but lets it call no tools (the page must then show the result when it arrives).
window.runChat = async (prompt, theme, serverTools = true) => {
  const client = await connect();
  const { tools } = await client.listTools();
  const chat = tools.find((t) => t.name === "chat");
  const uri = getToolUiResourceUri(chat);
  if (!uri) throw new Error("chat has no _meta.ui.resourceUri for an Apps client");
  const { contents } = await client.readResource({ uri });
  const frame = document.createElement("iframe");
  frame.setAttribute("sandbox", "allow-scripts");
  frame.title = "GigaChat answer";
  frame.srcdoc = contents[0].text;
  document.getElementById("frames").replaceChildren(frame);
  const styles = theme === "dark"
    ? { "--color-background-primary": "#1e1f24", "--color-text-primary": "#ececf1", "--color-border-primary": "#44464f" }
    : { "--color-background-primary": "#ffffff", "--color-text-primary": "#1b1c1f" };
  const capabilities = serverTools ? { serverTools: {}, openLinks: {}, logging: {} } : { openLinks: {}, logging: {} };
  const bridge = new AppBridge(client, HOST, capabilities,
    { hostContext: { theme, styles: { variables: styles }, displayMode: "inline", platform: "web" } });
  bridge.onsizechange = ({ height }) => { if (height) frame.style.height = `${Math.min(height, 900)}px`; };
  const initialized = new Promise((resolve) => { bridge.oninitialized = resolve; });
  await bridge.connect(new PostMessageTransport(frame.contentWindow, frame.contentWindow));
  await initialized;
  log("view initialized");
  await bridge.sendToolInput({ arguments: { prompt } });
  const result = await client.callTool({ name: "chat", arguments: { prompt } }, undefined, { timeout: 120000 });
  log("tool result", result.structuredContent && result.structuredContent.status);
  window.lastResult = result;
  await bridge.sendToolResult(result);
  return { result, toolMeta: chat._meta, listed: tools.map((t) => t.name), protocol: client.getServerVersion && client.getServerVersion() };
};
