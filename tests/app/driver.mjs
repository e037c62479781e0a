// Drives the live view in headless Chromium: the test host page (host.mjs) served beside a same-origin proxy
// to the real `gigachat-mcp serve --transport streamable-http`. Prints one JSON line with what it saw.
// Env: MCP_URL, HOST_DIR (host.html + host.js), OUT_DIR (screenshots), CHROMIUM, PROMPT_FULL, PROMPT_STOP,
// PROMPT_MARKDOWN.
import http from "node:http";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { chromium } from "playwright-core";

const { MCP_URL, HOST_DIR, OUT_DIR, CHROMIUM, PROMPT_FULL, PROMPT_STOP, PROMPT_MARKDOWN } = process.env;
const upstream = new URL(MCP_URL);
const calls = {};
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

const proxy = http.createServer(async (req, res) => {
  if (!req.url.startsWith("/mcp")) {
    const name = req.url === "/" ? "host.html" : req.url.slice(1);
    if (!["host.html", "host.js"].includes(name)) { res.writeHead(404).end(); return; }
    res.writeHead(200, { "content-type": name.endsWith(".js") ? "text/javascript" : "text/html" });
    res.end(await readFile(join(HOST_DIR, name)));
    return;
  }
  const parts = [];
  for await (const part of req) parts.push(part);
  const body = Buffer.concat(parts);
  try {
    for (const m of [].concat(JSON.parse(body.toString() || "null") || [])) {
      if (m && m.method === "tools/call") {
        calls[m.params.name] = (calls[m.params.name] || 0) + 1;
        const prompted = m.params.name === "read_answer" && m.params.arguments && m.params.arguments.prompt;
        if (prompted) calls.readWithPrompt = (calls.readWithPrompt || 0) + 1;
      }
    }
  } catch { /* not JSON: forwarded as it is */ }
  const headers = { ...req.headers, "content-length": String(body.length) };
  delete headers.host; delete headers.origin; delete headers.referer;
  const up = http.request(upstream, { method: req.method, headers }, (answer) => {
    res.writeHead(answer.statusCode, answer.headers);
    answer.pipe(res);
  });
  up.on("error", (err) => { if (!res.headersSent) res.writeHead(502); res.end(String(err)); });
  res.on("close", () => up.destroy());
  up.end(body);
});
await new Promise((ok) => proxy.listen(0, "127.0.0.1", ok));
const origin = `http://127.0.0.1:${proxy.address().port}`;

const browser = await chromium.launch({
  executablePath: CHROMIUM, headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
const out = { console: [] };
try {
  const context = await browser.newContext({ viewport: { width: 780, height: 420 } });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin });
  const page = await context.newPage();
  page.on("console", (msg) => { if (out.console.length < 200) out.console.push(msg.text()); });
  page.on("pageerror", (err) => out.console.push("pageerror: " + err.message));
  await page.goto(origin + "/");
  await page.waitForFunction(() => typeof window.runChat === "function");
  const view = async () => {
    const frame = page.frames().find((f) => f !== page.mainFrame());
    if (!frame) return null;
    return frame.evaluate(() => {
      const answer = document.getElementById("answer");
      if (!answer) return null;
      return { text: answer.textContent, status: document.body.dataset.status, label: document.getElementById("status").textContent,
               model: document.getElementById("model").textContent, tokens: document.getElementById("tokens").textContent,
               strong: [...answer.querySelectorAll("strong")].map((n) => n.textContent),
               code: [...answer.querySelectorAll("code")].map((n) => n.textContent),
               injected: answer.querySelectorAll("img, script, iframe").length + (window.pwned ? 100 : 0),
               busy: answer.getAttribute("aria-busy"), live: answer.getAttribute("aria-live"),
               stopDisabled: document.getElementById("stop").disabled, copyDisabled: document.getElementById("copy").disabled,
               bg: getComputedStyle(document.body).backgroundColor, fg: getComputedStyle(document.body).color };
    }).catch(() => null);
  };
  const settle = async (statuses, ms) => {
    const end = Date.now() + ms;
    let v = await view();
    while (Date.now() < end && !(v && statuses.includes(v.status))) { await sleep(100); v = await view(); }
    return v;
  };

  // 1. An answer streams to the end: sample the frame while it grows, screenshot mid-stream and at the end.
  const started = Date.now();
  const run1 = page.evaluate(([p]) => window.runChat(p, "light"), [PROMPT_FULL]);
  let finished1 = null;
  run1.then((r) => { finished1 = r; }, (e) => { finished1 = { error: String(e) }; });
  const samples = [];
  let shotMid = false;
  while (!finished1 && Date.now() - started < 45000) {
    const v = await view();
    if (v && v.status === "streaming") {
      samples.push({ t: Date.now() - started, length: v.text.length, status: v.status, busy: v.busy });
      if (!shotMid && v.text.length > 150) {
        await page.screenshot({ path: join(OUT_DIR, "mid-stream.png") });
        shotMid = true;
      }
    }
    await sleep(250);
  }
  out.full = { samples, midShot: shotMid, result: (await run1), callsDuring: { ...calls } };
  out.full.view = await settle(["done", "error", "cancelled"], 5000);
  await page.screenshot({ path: join(OUT_DIR, "end.png") });
  // Copy, from the keyboard: the answer's Markdown lands on the clipboard.
  const frame1 = page.frames().find((f) => f !== page.mainFrame());
  await frame1.focus("#copy");
  await page.keyboard.press("Enter");
  await sleep(300);
  out.full.copied = {
    announced: await frame1.evaluate(() => document.getElementById("announce").textContent),
    clipboard: await page.evaluate(() => navigator.clipboard.readText()).catch((e) => "unreadable: " + e),
  };

  // The finished header at common widths: one row for the buttons beside the title, nothing scrolls sideways.
  out.full.layout = {};
  for (const width of [360, 480, 640]) {
    await page.evaluate((w) => { document.querySelector("#frames iframe").style.width = `${w}px`; }, width);
    await sleep(300);
    out.full.layout[width] = await frame1.evaluate(() => {
      const box = (sel) => { const r = document.querySelector(sel).getBoundingClientRect();
                             return { top: r.top, bottom: r.bottom, left: r.left, right: r.right }; };
      return { width: document.documentElement.clientWidth, scrollWidth: document.documentElement.scrollWidth,
               header: box("header"), title: box("header strong"), status: box("#status"), tokens: box("#tokens"),
               stop: box("#stop"), copy: box("#copy"), status_label: document.getElementById("status").textContent };
    });
    await page.locator("#frames iframe").screenshot({ path: join(OUT_DIR, `done-${width}.png`) });
  }
  await page.evaluate(() => { document.querySelector("#frames iframe").style.width = ""; });

  // 2. Stop, pressed from the keyboard, ends the upstream stream; the dark theme comes from the host.
  for (const k of Object.keys(calls)) delete calls[k];
  await page.evaluate(() => document.body.classList.add("dark"));
  const run2 = page.evaluate(([p]) => window.runChat(p, "dark"), [PROMPT_STOP]);
  let v2 = null;
  const end2 = Date.now() + 30000;
  while (Date.now() < end2) {
    v2 = await view();
    if (v2 && v2.status === "streaming" && v2.text.length > 250 && !v2.stopDisabled) break;
    await sleep(100);
  }
  out.stop = { before: v2 };
  const frame = page.frames().find((f) => f !== page.mainFrame());
  await frame.focus("#stop");
  await page.keyboard.press("Enter");
  out.stop.result = await run2;
  out.stop.view = await settle(["cancelled", "done", "error"], 5000);
  out.stop.calls = { ...calls };
  await page.screenshot({ path: join(OUT_DIR, "stopped.png") });

  // 3. A host that lets the page call no tools: the page shows the final answer from the tool result alone.
  //    The answer is Markdown with HTML and a javascript: link in it: rendered, never injected.
  for (const k of Object.keys(calls)) delete calls[k];
  await page.evaluate(() => document.body.classList.remove("dark"));
  out.markdown = { result: await page.evaluate(([p]) => window.runChat(p, "light", false), [PROMPT_MARKDOWN]) };
  out.markdown.view = await settle(["done", "error", "cancelled"], 5000);
  const md = page.frames().find((f) => f !== page.mainFrame());
  out.markdown.dom = await md.evaluate(() => {
    const answer = document.getElementById("answer");
    const texts = (sel) => [...answer.querySelectorAll(sel)].map((n) => n.textContent);
    return { headings: [...answer.querySelectorAll("h1,h2,h3,h4,h5,h6")].map((n) => n.tagName + ":" + n.textContent),
             p: texts("p"), ul: texts("ul > li"), ol: texts("ol > li"), strong: texts("strong"), em: texts("em"), pre: texts("pre code"),
             th: texts("th"), td: texts("td"), quote: texts("blockquote"),
             links: [...answer.querySelectorAll("a")].map((a) => [a.textContent, a.getAttribute("href")]),
             injected: answer.querySelectorAll("img, script, iframe, b").length + (window.pwned ? 100 : 0) };
  });
  out.markdown.calls = { ...calls };
  await page.screenshot({ path: join(OUT_DIR, "markdown.png"), fullPage: true });
} catch (err) {
  out.error = String(err && err.stack || err);
} finally {
  await browser.close();
  proxy.close();
}
process.stdout.write(JSON.stringify(out) + "\n");
