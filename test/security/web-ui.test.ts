// The web UI's defences, in Chromium and over plain HTTP: a signed-in browser visiting another page (same site on
// another port, or another site) cannot make the server act (CSRF: the cookie alone never changes state, and
// SameSite=Strict keeps it off cross-site requests); HTML and script in chat messages, the user's or the
// model's, render inert; the UI's pages and assets carry a strict Content-Security-Policy that stops inline and
// evaluated script; GET / stays plain text for clients and redirects browsers; the session routes answer the
// UI's own pages only, and a revoked key's session ends at once.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launch, signIn, startUiServer, type UiServer } from '../ui/harness.ts';
import { SCOPES } from '../../src/store/keys.ts';
import { UI_CSP } from '../../src/server/routes/ui.ts';

let server: UiServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let admin: string;
let attacker: Server;
let attackerBase = '';

/** A page that posts a form to the server on load (what a CSRF attack is), served from another port. */
const formPage = (target: string) => `<!doctype html><html><body>
<form id="f" method="POST" action="${target}/admin/keys" enctype="text/plain"><input name='{"name":"csrf","x":"' value='"}'></form>
<script>document.getElementById('f').submit()</script></body></html>`;

before(async () => {
  [server, browser] = await Promise.all([startUiServer(), launch()]);
  admin = server.store.keys.create({ name: 'admin', scopes: [...SCOPES] }).secret;
  attacker = createServer((req, res) => {
    if (req.url === '/fetch') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><script>
        fetch(${JSON.stringify(server.base)} + '/admin/keys', { method: 'POST', credentials: 'include', mode: 'no-cors',
          headers: { 'content-type': 'text/plain' }, body: '{"name":"csrf-fetch"}' }).finally(() => { document.title = 'sent'; });
      </script>`);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html' }).end(formPage(server.base));
  });
  await new Promise<void>((r) => attacker.listen(0, '127.0.0.1', r));
  attackerBase = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`;
  context = await browser.newContext();
  page = await context.newPage();
  await signIn(page, server.base, admin);
});
after(async () => {
  await browser?.close();
  attacker?.close();
  await server?.close();
});

const keyNames = () => server.store.keys.list().map((k) => k.name);

test('CSRF: a signed-in browser on another page cannot create a key, by form post or fetch, same site or cross-site', async () => {
  const other = await context.newPage();
  // same site (loopback, another port): the browser sends the cookie, the server wants the CSRF token
  const refused = other.waitForResponse((r) => r.url() === `${server.base}/admin/keys` && r.request().method() === 'POST');
  await other.goto(attackerBase);
  const r = await refused;
  assert.equal(r.status(), 403);
  assert.match(await r.text(), /x-hearth-csrf/);
  await other.goto(`${attackerBase}/fetch`);
  await other.waitForFunction(() => (globalThis as any).document.title === 'sent');
  // another site: SameSite=Strict keeps the cookie home, and the origin is refused
  await other.route('http://evil.example/**', (route) => route.fulfill({ contentType: 'text/html', body: formPage(server.base) }));
  const crossSite = other.waitForResponse((x) => x.url() === `${server.base}/admin/keys`);
  await other.goto('http://evil.example/');
  const c = await crossSite;
  assert.equal(c.status(), 403);
  const sent = await c.request().allHeaders();
  assert.equal(sent.cookie, undefined, 'no cookie on a cross-site post');
  await other.close();
  assert.deepEqual(keyNames(), ['admin']);
  // the UI itself, with its token, can
  await page.goto(`${server.base}/ui/#/keys`);
  await page.getByLabel('Name').fill('from-the-ui');
  await page.getByRole('button', { name: 'Create key' }).click();
  await page.getByTestId('secret').waitFor();
  assert.ok(keyNames().includes('from-the-ui'));
});

test('HTML and script in chat messages render inert: the user\'s as text, the model\'s through the sanitiser', async () => {
  const payload = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script><iframe src="javascript:window.__pwned=3"></iframe>';
  const reply = `Here is **bold** and code:\n\n\`\`\`js\nconst a = "<b>";\n\`\`\`\n\n${payload}\n\n<a href="javascript:window.__pwned=4">click</a> ` +
    '[link](javascript:window.__pwned=5) <div onmouseover="window.__pwned=6" style="position:fixed;inset:0">cover</div>';
  const c = await fetch(`${server.base}/v1/conversations`, {
    method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ metadata: { title: 'xss probe', model: 'stories' }, items: [
      { type: 'message', role: 'user', content: payload }, { type: 'message', role: 'assistant', content: reply }] }),
  });
  assert.equal(c.status, 200);
  await page.goto(`${server.base}/ui/#/chat`);
  await page.locator('.convs button.link').filter({ hasText: 'xss probe' }).click();
  const user = page.locator('article[data-role="user"] .text');
  await user.waitFor();
  assert.equal(await user.textContent(), payload, 'the user\'s message is shown as the text it is');
  const md = page.locator('article[data-role="assistant"] .md');
  await md.locator('strong').filter({ hasText: 'bold' }).waitFor();
  await md.hover();
  await page.waitForTimeout(200);
  const probe = await md.evaluate((el) => ({
    pwned: (globalThis as any).__pwned,
    dangerous: el.querySelectorAll('script, iframe, img, object, embed, form, style').length,
    handlers: [...el.querySelectorAll('*')].flatMap((n) => [...n.attributes].map((a) => a.name)).filter((a) => a.startsWith('on') || a === 'style'),
    hrefs: [...el.querySelectorAll('a')].map((a) => a.getAttribute('href')),
    code: el.querySelector('pre code')?.textContent,
  }));
  assert.equal(probe.pwned, undefined);
  assert.equal(probe.dangerous, 0);
  assert.deepEqual(probe.handlers, []);
  assert.ok(probe.hrefs.every((h) => h === null || !/^javascript:/i.test(h)), JSON.stringify(probe.hrefs));
  assert.equal(probe.code, 'const a = "<b>";');
  assert.equal(await md.locator('button[data-copy]').count(), 1, 'the code block has its copy button');
});

test('CSP: every UI answer carries a strict policy; inline and evaluated script do not run', async () => {
  for (const path of ['/ui/', '/ui/no-such-file']) {
    const r = await fetch(`${server.base}${path}`);
    assert.equal(r.headers.get('content-security-policy'), UI_CSP, path);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(r.headers.get('x-frame-options'), 'DENY');
  }
  const html = await (await fetch(`${server.base}/ui/`)).text();
  const script = /src="\.\/assets\/([^"]+\.js)"/.exec(html)![1]!;
  const js = await fetch(`${server.base}/ui/assets/${script}`, { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(js.status, 200);
  assert.equal(js.headers.get('content-security-policy'), UI_CSP);
  assert.match(js.headers.get('cache-control')!, /immutable/);
  const directives = new Map(UI_CSP.split('; ').map((d) => [d.split(' ')[0]!, d.split(' ').slice(1)]));
  assert.deepEqual(directives.get('default-src'), ["'none'"]);
  assert.deepEqual(directives.get('script-src'), ["'self'"]);
  assert.deepEqual(directives.get('style-src'), ["'self'"]);
  assert.deepEqual(directives.get('frame-ancestors'), ["'none'"]);
  assert.doesNotMatch(UI_CSP, /unsafe-|\*|data: .*script|https?:/);
  // in the page: an inline script added to the DOM does not run, and a string predicate that must be polled (eval in
  // the page) is refused
  const inline = await page.evaluate(() => {
    const g = globalThis as any;
    const s = g.document.createElement('script');
    s.textContent = 'window.__inline = 1';
    g.document.body.appendChild(s);
    return g.__inline;
  });
  assert.equal(inline, undefined);
  await assert.rejects(page.waitForFunction('document.title === "never"', undefined, { timeout: 2000 }), /unsafe-eval/);
});

test('GET /: plain text for clients, a redirect to /ui/ for a browser, with or without a key', async () => {
  const plain = await fetch(`${server.base}/`, { headers: { authorization: `Bearer ${admin}` } });
  assert.equal(await plain.text(), 'Hearth is running');
  const browserAsk = await fetch(`${server.base}/`, { redirect: 'manual', headers: { accept: 'text/html,application/xhtml+xml' } });
  assert.equal(browserAsk.status, 302);
  assert.equal(browserAsk.headers.get('location'), '/ui/');
});

test('the session routes answer the UI\'s own pages only; sign-out and revocation end a session', async () => {
  const evil = await fetch(`${server.base}/ui/api/session`, {
    method: 'POST', headers: { 'content-type': 'application/json', origin: 'http://evil.example' }, body: JSON.stringify({ key: admin }),
  });
  assert.equal(evil.status, 403);
  const site = await fetch(`${server.base}/ui/api/session`, { headers: { 'sec-fetch-site': 'cross-site' } });
  assert.equal(site.status, 403);

  const signed = await fetch(`${server.base}/ui/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: admin }) });
  assert.equal(signed.status, 200);
  const cookie = signed.headers.get('set-cookie')!;
  assert.match(cookie, /^hearth_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
  const { csrf } = await signed.json() as { csrf: string };
  const jar = cookie.split(';')[0]!;
  assert.equal((await fetch(`${server.base}/admin/keys`, { headers: { cookie: jar } })).status, 200);
  // with the cookie, a state change needs the token
  const noToken = await fetch(`${server.base}/admin/keys`, { method: 'POST', headers: { cookie: jar, 'content-type': 'application/json' }, body: '{"name":"x"}' });
  assert.equal(noToken.status, 403);
  const wrong = await fetch(`${server.base}/admin/keys`, { method: 'POST', headers: { cookie: jar, 'content-type': 'application/json', 'x-hearth-csrf': 'nope' }, body: '{"name":"x"}' });
  assert.equal(wrong.status, 403);
  // a key made for the purpose, its session revoked with it
  const made = await fetch(`${server.base}/admin/keys`, { method: 'POST', headers: { cookie: jar, 'content-type': 'application/json', 'x-hearth-csrf': csrf }, body: '{"name":"short-lived","scopes":["inference"]}' });
  assert.equal(made.status, 201);
  const { id, key } = await made.json() as { id: string; key: string };
  const s2 = await fetch(`${server.base}/ui/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key }) });
  const jar2 = s2.headers.get('set-cookie')!.split(';')[0]!;
  assert.equal((await fetch(`${server.base}/v1/conversations`, { headers: { cookie: jar2 } })).status, 200);
  assert.equal((await fetch(`${server.base}/admin/keys`, { headers: { cookie: jar2 } })).status, 403, 'its scopes, not more');
  assert.equal((await fetch(`${server.base}/admin/keys/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${admin}` } })).status, 200);
  assert.equal((await fetch(`${server.base}/v1/conversations`, { headers: { cookie: jar2 } })).status, 401);
  // sign out
  const out = await fetch(`${server.base}/ui/api/session`, { method: 'DELETE', headers: { cookie: jar, 'x-hearth-csrf': csrf } });
  assert.equal(out.status, 200);
  assert.match(out.headers.get('set-cookie')!, /Max-Age=0/);
  assert.equal((await fetch(`${server.base}/admin/keys`, { headers: { cookie: jar } })).status, 401);
});
