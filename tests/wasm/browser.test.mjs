// Headless Chromium (Debian `chromium`) loads a page from a local static server on 127.0.0.1 that
// runs the quick start loop on the WASM build (npm/dist/wasm/browser.js, the `browser` condition's
// entry); the page posts what it rendered back to the server, where the test reads it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const chromium = process.env.CHROMIUM ?? '/usr/bin/chromium';

const page = `<!doctype html><html><body><pre id="out">pending</pre>
<script type="module">
import { Limitr } from '/dist/wasm/browser.js';
const out = document.getElementById('out');
try {
  const policy = await Limitr.new(await (await fetch('/policy.json')).text(), 'json');
  await policy.createCustomer('user_starter', 'starter');
  const rows = [];
  for (const tokens of [120000, 95000, 180000, 60000, 90000]) {
    const access = await policy.allow('user_starter', 'ai-chat-access');
    const allowed = access && (await policy.allow('user_starter', 'ai-chat-input', tokens));
    if (allowed) await policy.allow('user_starter', 'ai-chat-output', tokens / 2.2);
    rows.push({ tokens, allowed, remaining: await policy.remaining('user_starter', 'ai-chat-input'),
      output: await policy.value('user_starter', 'ai-chat-output') });
  }
  out.textContent = 'RESULT' + JSON.stringify({ rows, userAgent: navigator.userAgent }) + 'END';
} catch (e) {
  out.textContent = 'ERROR' + String(e && e.stack || e) + 'END';
}
await fetch('/result', { method: 'POST', body: out.textContent });
</script></body></html>`;

let reported;
const report = new Promise((resolve) => (reported = resolve));

function serve() {
  const types = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    let file;
    if (url.pathname === '/result' && req.method === 'POST') {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        res.end();
        reported(body);
      });
      return;
    }
    if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end(page);
    } else if (url.pathname === '/policy.json') {
      file = join(root, 'tests/policies/quickstart.json');
    } else if (url.pathname.startsWith('/dist/wasm/')) {
      file = join(root, 'npm', normalize(url.pathname).replace(/^\/+/, ''));
    }
    if (!file || !file.startsWith(join(root, 'npm/dist/wasm')) && !file.endsWith('quickstart.json') || !existsSync(file)) {
      res.writeHead(404);
      return res.end();
    }
    res.writeHead(200, { 'content-type': types[file.slice(file.lastIndexOf('.'))] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

test('chromium: the quick start loop runs in a page on the WASM build', { skip: !existsSync(chromium) && `no ${chromium}` }, async () => {
  const server = await serve();
  const profile = mkdtempSync(join(tmpdir(), 'limitr-chromium-'));
  try {
    const { port } = server.address();
    const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--user-data-dir=${profile}`, `http://127.0.0.1:${port}/`];
    // its own process group, so the renderer and helper processes end with it
    const browser = spawn(chromium, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    browser.stderr.on('data', (c) => (stderr += c));
    const exited = new Promise((resolve) => browser.on('exit', (code) => resolve(`chromium exited (${code}): ${stderr.slice(-2000)}`)));
    const timeout = new Promise((resolve) => setTimeout(() => resolve('timeout: no result from the page in 60 s'), 60000).unref());
    const text = await Promise.race([report, exited, timeout]);
    try {
      process.kill(-browser.pid, 'SIGKILL'); // the whole group: no helper keeps writing the profile
    } catch {
      browser.kill('SIGKILL');
    }
    await exited;
    const m = /^(RESULT|ERROR)([\s\S]*)END$/.exec(text);
    assert.ok(m, text);
    assert.equal(m[1], 'RESULT', m[2]);
    const { rows, userAgent } = JSON.parse(m[2]);
    assert.match(userAgent, /Chrome/);
    assert.deepEqual(rows.map((r) => r.allowed), [true, true, true, true, false]);
    assert.deepEqual(rows.map((r) => r.remaining), [380000, 285000, 105000, 45000, 45000]);
    assert.deepEqual(rows.map((r) => r.output), [54545, 97726, 179544, 206816, 206816]);
  } finally {
    server.close();
    server.closeAllConnections();
    // best effort: a helper Chromium leaves behind must not fail the test (the directory is a
    // temporary one)
    try {
      rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    } catch (e) {
      console.error(`left ${profile} behind: ${e.message}`);
    }
  }
});
