// The admin UI in a real browser (spec/admin.md, issue 9): log in (changing the one-time
// password), see the live charts move under traffic, edit a route, see a validation error at
// the field on bad input, save, see the new version in history, roll back, and see a viewer
// refused a change. A screenshot of every screen goes to build/screenshots/.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const BIN = process.env.GATEHOUSE_BIN;
const SHOTS = process.env.SCREENSHOT_DIR;
const PASSWORD = 'a long admin password';

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

function get(port, path) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
    req.on('error', () => resolve(0));
  });
}

async function waitFor(fn, ms, what) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('timed out waiting for ' + what);
}

let dir, server, adminPort, edgePort, base, browser, page;

async function shot(name) {
  await page.screenshot({ path: join(SHOTS, name + '.png'), fullPage: true });
}

async function go(screen, heading) {
  await page.click(`nav a[href="#/${screen}"]`);
  await page.getByRole('heading', { level: 1, name: heading }).waitFor();
}

async function login(user, password) {
  await page.goto(base + '/');
  await page.fill('#login-user', user);
  await page.fill('#login-password', password);
  await page.click('button[type=submit]');
}

describe('admin UI', () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-browser-'));
    adminPort = await freePort();
    edgePort = await freePort();
    base = `http://127.0.0.1:${adminPort}`;
    const cfg = join(dir, 'config.yaml');
    writeFileSync(cfg, `apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: default}
spec: {address: 127.0.0.1, port: ${edgePort}, protocol: HTTP}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: welcome}
spec:
  directResponse: {status: 200, body: "welcome"}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: broken}
spec:
  directResponse: {status: 503, body: "down"}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: welcome}
spec:
  parentRefs: [{name: default}]
  rules:
    - backendRefs: [{name: welcome, weight: 1}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: broken}
spec:
  parentRefs: [{name: default}]
  rules:
    - matches: [{path: {type: PathPrefix, value: /broken}}]
      backendRefs: [{name: broken}]
`);
    const data = join(dir, 'data');
    execFileSync(BIN, ['apply', '-f', cfg, '--data-dir', data, '-m', 'browser test start']);
    execFileSync(BIN, ['ca', 'init', '--data-dir', data]);
    server = spawn(BIN, ['run', '--data-dir', data, '--workers', '1', '--admin', `127.0.0.1:${adminPort}`], { stdio: 'ignore' });
    await waitFor(async () => (await get(adminPort, '/ready')) === 200, 15000, '/ready');
    browser = await chromium.launch({ executablePath: process.env.CHROMIUM, headless: true, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  });

  after(async () => {
    if (browser) await browser.close();
    if (server) server.kill('SIGTERM');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('logs in with the one-time password and must choose a new one', async () => {
    const initial = readFileSync(join(dir, 'data', 'initial-admin-password'), 'utf8').trim();
    await page.goto(base + '/');
    await page.getByRole('form', { name: 'Log in' }).waitFor();
    await shot('01-login');
    await login('admin', 'wrong password');
    await page.getByRole('alert').filter({ hasText: 'wrong user name or password' }).waitFor();
    await login('admin', initial);
    await page.getByRole('heading', { name: 'Choose your password' }).waitFor();
    await page.fill('#pw-current', initial);
    await page.fill('#pw-new', PASSWORD);
    await page.fill('#pw-again', PASSWORD);
    await page.click('button[type=submit]');
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    // The session cookie is HttpOnly: scripts cannot read it.
    assert.equal(await page.evaluate(() => document.cookie), '');
  });

  it('is usable by keyboard: the first Tab reaches the skip link', async () => {
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to content');
  });

  it('shows live charts that move under traffic', async () => {
    let stop = false;
    const traffic = (async () => {
      while (!stop) await Promise.all([get(edgePort, '/'), get(edgePort, '/'), get(edgePort, '/broken')]);
    })();
    try {
      await waitFor(async () => Number(await page.getAttribute('#chart-rps', 'data-last')) > 0, 15000, 'requests per second > 0');
      await waitFor(async () => Number(await page.getAttribute('#chart-errors', 'data-last')) > 0, 15000, '5xx per second > 0');
      const before = Number(await page.getAttribute('#chart-rps', 'data-points'));
      await waitFor(async () => Number(await page.getAttribute('#chart-rps', 'data-points')) > before, 6000, 'a new point');
      // Per route, from /api/v1/stats/live: rate, 5xx share and latency percentiles.
      await waitFor(async () => Number(await page.getAttribute('#chart-route-rps', 'data-last')) > 0, 15000, 'route req/s > 0');
      await page.locator('#chart-route-errors').waitFor();
      await waitFor(async () => ((await page.textContent('#live-routes tr[data-route="default/broken"]').catch(() => '')) || '').includes('100.0%'), 15000, 'the broken route at 100 % 5xx');
      await waitFor(async () => Number(await page.getAttribute('#chart-route-latency', 'data-last')) > 0, 15000, 'route p50 > 0');
      await page.locator('#live-routes td.p50').first().waitFor();
    } finally {
      stop = true;
      await traffic;
    }
    await shot('02-overview');
  });

  it('shows the topology', async () => {
    await go('topology', 'Topology');
    await page.locator('svg .node.service').first().waitFor();
    await shot('03-topology');
  });

  let savedVersion;
  it('edits a route: a validation error at the field, then saves a new version', async () => {
    await go('routes', 'Routes and services');
    await shot('04-routes');
    await page.getByRole('button', { name: 'Edit route default/welcome' }).click();
    const weight = page.locator('#f-r0-b0-weight');
    await weight.fill('-1');
    const err = page.locator('.field.invalid .field-error[data-path="spec.rules[0].backendRefs[0].weight"]');
    await err.waitFor();
    assert.match(await err.textContent(), /between 0 and 1000000/);
    await shot('05-route-validation-error');
    await weight.fill('2');
    await page.fill('#f-hostnames', 'welcome.example, www.welcome.example');
    await page.locator('#validation-state', { hasText: 'valid' }).waitFor();
    await page.getByRole('button', { name: 'Dry run (diff)' }).click();
    await page.locator('.diff-field', { hasText: 'weight' }).waitFor();
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    const result = page.locator('#save-result');
    await result.waitFor();
    savedVersion = Number((await result.textContent()).match(/version (\d+)/)[1]);
    assert.equal(savedVersion, 2);
    await shot('06-route-saved');
  });

  it('shows the new version in history and rolls back with one click', async () => {
    await go('history', 'History');
    const row = page.locator(`#versions-table tr[data-version="${savedVersion}"]`);
    await row.waitFor();
    assert.match(await row.textContent(), /admin/);
    assert.match(await row.textContent(), /active/);
    await page.getByRole('button', { name: `Diff version ${savedVersion} against ${savedVersion - 1}` }).click();
    await page.locator('.diff-key', { hasText: 'HTTPRoute/default/welcome' }).waitFor();
    await shot('07-history-diff');
    const rollback = page.getByRole('button', { name: `Roll back to version ${savedVersion - 1}` });
    await rollback.click();
    await rollback.click(); // the second press confirms
    await page.locator('#rollback-result', { hasText: `Rolled back to version ${savedVersion - 1} as version ${savedVersion + 1}` }).waitFor();
    await page.locator(`#versions-table tr[data-version="${savedVersion + 1}"]`, { hasText: 'active' }).waitFor();
    await shot('08-history-rolled-back');
    // The server serves the rolled-back version: no hostname restriction any more.
    await waitFor(async () => (await get(edgePort, '/')) === 200, 5000, 'the rolled-back route');
  });

  it('shows policies, Lua scripts, certificates, the audit log and users', async () => {
    await go('policies', 'Policies');
    await page.getByRole('button', { name: 'New policy' }).click();
    await page.locator('#policy-editor').waitFor();
    await page.getByRole('button', { name: 'Explain' }).click();
    await page.locator('#explain-result', { hasText: 'allowed' }).waitFor();
    await shot('09-policies');
    await go('scripts', 'Lua scripts');
    // A new script: a syntax error is shown at the source field with the script's line; the
    // fixed script saves as a new version and is listed with its attach point.
    await page.getByRole('button', { name: 'New script' }).click();
    await page.fill('#l-name', 'hello');
    await page.fill('#l-source', 'function envoy_on_request(h)\n  h:headers(:add("x", "1")\nend\n');
    const luaErr = page.locator('.field.invalid .field-error[data-path="spec.source.inline"]');
    await luaErr.waitFor();
    assert.match(await luaErr.textContent(), /Lua syntax error \(script line 2\)/);
    await page.fill('#l-source', 'function envoy_on_request(h)\n  h:headers():add("x-hello", "lua")\nend\n');
    await page.locator('#validation-state', { hasText: 'valid' }).waitFor();
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.locator('#save-result').waitFor();
    await page.getByRole('button', { name: 'Close' }).click().catch(() => {});
    await go('scripts', 'Lua scripts');
    await page.locator('#scripts-table td', { hasText: 'Listener/default' }).waitFor();
    await shot('10-lua-scripts');
    await go('certificates', 'Certificates');
    await page.fill('#jt-workload', 'orders');
    await page.getByRole('button', { name: 'Create token' }).click();
    await page.locator('#join-token', { hasText: 'ghjt.' }).waitFor();
    await shot('11-certificates');
    await go('audit', 'Audit log');
    await page.locator('#audit-table td', { hasText: 'rollback' }).first().waitFor();
    await shot('12-audit');
    await go('users', 'Users');
    await page.fill('#u-name', 'vera');
    await page.selectOption('#u-role', 'viewer');
    await page.fill('#u-password', 'viewer password 1');
    await page.getByRole('button', { name: 'Add user' }).click();
    await page.locator('#users-table td', { hasText: 'vera' }).waitFor();
    await shot('13-users');
  });

  it('is readable in a narrow window', async () => {
    await page.setViewportSize({ width: 380, height: 800 });
    await go_narrow('routes', 'Routes and services');
    await shot('14-narrow-routes');
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  it('refuses a viewer a change', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await login('vera', 'viewer password 1');
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    await go('routes', 'Routes and services');
    await page.getByRole('button', { name: 'View route default/welcome' }).click();
    await page.getByText('Read-only: your role cannot change configuration.').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Save', exact: true }).count(), 0);
    await shot('15-viewer-read-only');
    // Even a hand-made request with the session's CSRF token is refused by the server.
    const status = await page.evaluate(async () => {
      const s = await (await fetch('/api/v1/session')).json();
      const r = await fetch('/api/v1/resources/Service/default/welcome', {
        method: 'DELETE', headers: { 'X-CSRF-Token': s.csrf, 'Content-Type': 'application/json' },
        body: JSON.stringify({ version: 3 }) });
      return r.status;
    });
    assert.equal(status, 403);
  });
});

async function go_narrow(screen, heading) {
  await page.getByRole('button', { name: 'Menu' }).click();
  await go(screen, heading);
}
