#!/usr/bin/env node
// SPDX-License-Identifier: GPL-2.0-or-later
//
// install_page.js - moat-updated's install and denial pages in headless
// Chromium (Debian's /usr/bin/chromium driven by playwright-core).
//
//   node install_page.js --url http://127.0.0.1:8080 --out DIR
//       [--user LOGIN --password SECRET]     Basic login of the subscriber view
//       [--expect-name NAME]                 the subscriber's name in the <h1>
//       [--platform debian]                  the Install button to press (default: first)
//       [--deny-url URL] [--deny-user L --deny-password P]
//                                            the non-subscriber view (default: --url,
//                                            no login); must answer 403
//       [--suspended-url URL] [--suspended-user L --suspended-password P]
//                                            a suspended subscriber's view (403)
//       [--login-user L --login-password P [--login-name NAME]]
//                                            from the denial page (--deny-url), follow
//                                            its /login link with this login: the
//                                            install page (NAME in the <h1>)
//       [--expect-lang TAG]                  the pages' lang attribute
//       [--chromium PATH] [--timeout MS]
//
// Checks, each reported by name (all of them run; the exit status is 1 when
// any failed, 2 on a usage error):
//   subscriber view, with JavaScript disabled in the browser:
//     200, the security headers (CSP without scripts, nosniff, no-store),
//     lang, one <main>, one <h1> (visible, with the subscriber's name), an
//     <h2> per platform, each package's name, version, size, SHA-256 and
//     publish date, each Install button named by its platform and described
//     by its package; text contrast >= 4.5:1; no horizontal scrolling at
//     phone width; pressing Install downloads the bundle (playwright's
//     download event, a file name, more than 0 bytes);
//   non-subscriber view: 403, a heading, a link to /login, none of the
//     subscriber view's names or packages; /login answers 401 with a Basic
//     challenge; with --login-user, its link leads a browser that holds a
//     login through the challenge to the install page;
//   every page: no console error, no page error, no failed request.
// Screenshots (PNG) and the downloaded bundle go to the output directory;
// a summary is written to OUT/summary.json and stdout.
'use strict';

const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

function usage(msg) {
  process.stderr.write(`install_page.js: ${msg}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const known = new Set(['url', 'out', 'user', 'password', 'expect-name', 'platform',
    'deny-url', 'deny-user', 'deny-password', 'suspended-url', 'suspended-user',
    'suspended-password', 'login-user', 'login-password', 'login-name', 'expect-lang',
    'chromium', 'timeout']);
  const o = {};
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m || !known.has(m[1]))
      usage(`unknown argument ${JSON.stringify(argv[i])}`);
    if (m[2] !== undefined)
      o[m[1]] = m[2];
    else if (i + 1 < argv.length)
      o[m[1]] = argv[++i];
    else
      usage(`--${m[1]} needs a value`);
  }
  if (!o.url || !o.out)
    usage('--url and --out are required');
  return o;
}

const opt = parseArgs(process.argv.slice(2));
const TIMEOUT = Number(opt.timeout || 20000);
const results = [];
let failures = 0;

function check(name, ok, detail) {
  results.push({ name, ok: !!ok, detail: detail === undefined ? '' : String(detail) });
  if (!ok) {
    failures++;
    process.stderr.write(`FAIL ${name}${detail !== undefined ? ': ' + detail : ''}\n`);
  } else {
    process.stderr.write(`ok   ${name}\n`);
  }
  return !!ok;
}

function credentials(user, password) {
  return user !== undefined ? { username: user, password: password || '' } : undefined;
}

// Console errors, page errors and failed requests of one page.
function watch(page, label) {
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error')
      problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => {
    // A download ends the navigation that started it: not a failure.
    const f = r.failure();
    if (!(f && /ERR_ABORTED/.test(f.errorText) && /\/bundle\//.test(r.url())))
      problems.push(`request failed: ${r.url()} ${f ? f.errorText : ''}`);
  });
  return { label, problems };
}

// The console line Chromium logs for a page that answers 4xx is the
// status itself, expected on the denial and login pages.
function unexpected(w, allowStatus) {
  return w.problems.filter((p) => !(allowStatus &&
    new RegExp(`status of ${allowStatus}\\b`).test(p)));
}

// WCAG 2 contrast of the computed colours of the elements sel matches.
async function contrasts(page, sel) {
  return page.$$eval(sel, (els) => {
    function rgb(s) {
      const m = /rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)/.exec(s);
      return m ? { r: +m[1], g: +m[2], b: +m[3], a: m[4] === undefined ? 1 : +m[4] } : null;
    }
    function lum(c) {
      const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
      return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
    }
    function background(el) {
      for (let e = el; e; e = e.parentElement) {
        const c = rgb(getComputedStyle(e).backgroundColor);
        if (c && c.a > 0)
          return c;
      }
      return { r: 255, g: 255, b: 255, a: 1 };
    }
    return els.map((el) => {
      const fg = rgb(getComputedStyle(el).color), bg = background(el);
      const a = lum(fg), b = lum(bg);
      return { tag: el.tagName.toLowerCase(), text: el.textContent.trim().slice(0, 40),
        ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05) };
    });
  });
}

async function subscriberView(browser, out) {
  const context = await browser.newContext({
    httpCredentials: credentials(opt.user, opt.password),
    javaScriptEnabled: false,          // the page must work without it
    acceptDownloads: true,
    viewport: { width: 1024, height: 900 },
  });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const w = watch(page, 'install');
  const summary = { packages: [] };

  const resp = await page.goto(new URL('/', opt.url).href, { waitUntil: 'load' });
  check('install: status 200', resp && resp.status() === 200, resp && resp.status());
  const h = resp ? resp.headers() : {};
  const csp = h['content-security-policy'] || '';
  check('install: CSP forbids scripts', /default-src 'none'/.test(csp) &&
    !/script-src/.test(csp), csp);
  check('install: X-Content-Type-Options nosniff', h['x-content-type-options'] === 'nosniff',
    h['x-content-type-options']);
  check('install: Cache-Control no-store', /no-store/.test(h['cache-control'] || ''),
    h['cache-control']);
  check('install: text/html UTF-8', /^text\/html;\s*charset=utf-8$/i.test(h['content-type'] || ''),
    h['content-type']);

  const lang = await page.getAttribute('html', 'lang');
  check('install: html lang', lang && /^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/.test(lang), lang);
  if (opt['expect-lang'] !== undefined)
    check(`install: lang is ${opt['expect-lang']}`, lang === opt['expect-lang'], lang);
  check('install: one <main>', await page.locator('main').count() === 1);
  const h1 = page.locator('h1');
  check('install: one <h1>', await h1.count() === 1, await h1.count());
  const h1text = (await h1.first().textContent() || '').trim();
  summary.h1 = h1text;
  check('install: <h1> visible', await h1.first().isVisible(), h1text);
  if (opt['expect-name'] !== undefined)
    check('install: subscriber name in <h1>', h1text.includes(opt['expect-name']),
      `${JSON.stringify(h1text)} lacks ${JSON.stringify(opt['expect-name'])}`);

  // Per platform: a section with its heading, and either a package list and
  // an Install button or the "none" line.
  const sections = page.locator('main section');
  const nsec = await sections.count();
  check('install: platform sections', nsec >= 1, nsec);
  const buttonText = [];
  for (let i = 0; i < nsec; i++) {
    const s = sections.nth(i);
    const h2 = (await s.locator('h2').first().textContent() || '').trim();
    check(`install: section ${i + 1} has one <h2>`, await s.locator('h2').count() === 1 && h2, h2);
    if (await s.locator('dl').count() === 0) {
      check(`install: ${h2}: no package, a line says so`,
        (await s.locator('p').count()) >= 1 && (await s.locator('form, button').count()) === 0);
      continue;
    }
    const dd = s.locator('dl dd');
    const fields = [];
    for (let j = 0; j < await dd.count(); j++)
      fields.push((await dd.nth(j).textContent() || '').trim());
    const [name, version, size, sha256, published] = fields;
    const datetime = await s.locator('dl time').getAttribute('datetime').catch(() => null);
    summary.packages.push({ platform: h2, name, version, size, sha256, published: datetime });
    check(`install: ${h2}: five package fields`, fields.length === 5 && fields.every((f) => f),
      JSON.stringify(fields));
    // "1.4 MiB (1468006 bytes)", or "824 bytes" when that is exact.
    check(`install: ${h2}: size human and exact`,
      /^\S+ \S+ \(\d+ \S+\)$|^\d+ \S+$/.test(size || ''), size);
    check(`install: ${h2}: SHA-256`, /^[0-9a-f]{64}$/.test(sha256 || ''), sha256);
    check(`install: ${h2}: publish date ISO 8601 UTC`,
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(datetime || ''), datetime);
    const mono = await s.locator('dl code').evaluate((e) => getComputedStyle(e).fontFamily);
    check(`install: ${h2}: SHA-256 in a monospace font`, /mono/i.test(mono), mono);
    const form = s.locator('form');
    check(`install: ${h2}: a GET form to /bundle/`,
      (await form.getAttribute('method')) === 'get' &&
      /^\/bundle\/[^/]+$/.test(await form.getAttribute('action') || ''),
      await form.getAttribute('action'));
    const btn = form.locator('button');
    const text = (await btn.textContent() || '').trim();
    buttonText.push(text);
    // Chromium's own accessible name: the button's text and the platform.
    const named = page.getByRole('button', { name: `${text} ${h2}`, exact: true });
    check(`install: ${h2}: button named "${text} ${h2}"`, await named.count() === 1);
    const desc = await btn.getAttribute('aria-describedby');
    check(`install: ${h2}: button described by its package`,
      desc && await s.locator(`dl[id="${desc}"]`).count() === 1, desc);
  }
  check('install: at least one package with an Install button', summary.packages.length >= 1,
    summary.packages.length);

  const ratios = await contrasts(page, 'h1, h2, p, dt, dd, code, button, a');
  const low = ratios.filter((r) => r.ratio < 4.5);
  summary.min_contrast = Math.min(...ratios.map((r) => r.ratio));
  check('install: contrast >= 4.5:1', ratios.length > 0 && low.length === 0,
    low.length ? JSON.stringify(low) : summary.min_contrast.toFixed(2));

  await page.screenshot({ path: path.join(out, 'install.png'), fullPage: true });
  await page.setViewportSize({ width: 360, height: 800 });
  const overflow = await page.evaluate(() =>
    document.documentElement.scrollWidth - document.documentElement.clientWidth);
  check('install: no horizontal scrolling at 360 px (the SHA-256 wraps)', overflow <= 0, overflow);
  await page.screenshot({ path: path.join(out, 'install-narrow.png'), fullPage: true });
  await page.setViewportSize({ width: 1024, height: 900 });

  // Install: the form's GET answers with the bundle as a download.
  let button = page.locator('main form button').first();
  if (opt.platform !== undefined)
    button = page.locator(`main form[action="/bundle/${opt.platform}"] button`);
  if (await button.count() === 1) {
    let download;
    try {
      [download] = await Promise.all([
        page.waitForEvent('download', { timeout: TIMEOUT }),
        button.click(),
      ]);
    } catch (e) {
      check('install: Install downloads the bundle', false, e.message.split('\n')[0]);
      await page.screenshot({ path: path.join(out, 'install-no-download.png'), fullPage: true });
      await context.close();
      return summary;
    }
    const file = download.suggestedFilename();
    const fail = await download.failure();
    const saved = path.join(out, path.basename(file || 'bundle'));
    if (!fail)
      await download.saveAs(saved);
    const size = fail ? 0 : fs.statSync(saved).size;
    summary.download = { url: download.url(), file, size, failure: fail };
    check('install: Install downloads the bundle', !fail, fail);
    check('install: the bundle has a file name', file && !/[\/\\]/.test(file), file);
    check('install: the bundle is not empty', size > 0, size);
    await page.screenshot({ path: path.join(out, 'install-after-download.png'), fullPage: true });
  } else {
    check('install: an Install button to press', false, opt.platform || 'first');
  }

  const bad = unexpected(w);
  check('install: no console errors, page errors or failed requests', bad.length === 0,
    bad.join('; '));
  await context.close();
  return summary;
}

// A view that must be refused: 403 and the denial page, nothing of the
// subscriber's page in it.
async function refusedView(browser, out, label, base, user, password, sub) {
  const context = await browser.newContext({
    httpCredentials: credentials(user, password), javaScriptEnabled: false,
  });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const w = watch(page, label);
  const resp = await page.goto(new URL('/', base).href, { waitUntil: 'load' });
  check(`${label}: status 403`, resp && resp.status() === 403, resp && resp.status());
  const h = resp ? resp.headers() : {};
  check(`${label}: CSP forbids scripts`, /default-src 'none'/.test(h['content-security-policy'] || ''),
    h['content-security-policy']);
  const lang = await page.getAttribute('html', 'lang');
  check(`${label}: html lang`, !!lang && (opt['expect-lang'] === undefined ||
    lang === opt['expect-lang']), lang);
  check(`${label}: one visible <h1>`, await page.locator('h1').count() === 1 &&
    await page.locator('h1').isVisible());
  const text = await page.locator('main').innerText();
  check(`${label}: a sentence says why`, text.split(/\s+/).length >= 10, text.slice(0, 80));
  const leaks = [];
  if (sub.h1)
    leaks.push(sub.h1);
  for (const p of sub.packages)
    leaks.push(p.name, p.sha256);
  if (opt['expect-name'])
    leaks.push(opt['expect-name']);
  const content = await page.content();
  const leaked = leaks.filter((s) => s && s.length >= 3 && content.includes(s));
  check(`${label}: reveals no subscriber or package`, leaked.length === 0, leaked.join(', '));
  check(`${label}: no Install form`, await page.locator('form').count() === 0);
  const ratios = await contrasts(page, 'h1, p, a');
  check(`${label}: contrast >= 4.5:1`, ratios.length > 0 && ratios.every((r) => r.ratio >= 4.5),
    JSON.stringify(ratios.filter((r) => r.ratio < 4.5)));
  await page.screenshot({ path: path.join(out, `${label}.png`), fullPage: true });
  const bad = unexpected(w, 403);
  check(`${label}: no console errors other than the 403`, bad.length === 0, bad.join('; '));
  const links = await page.locator('a[href="/login"]').count();
  await context.close();
  return { text, links };
}

async function loginView(browser, out, base) {
  // With no credentials to give, Chromium drops a Basic challenge as a
  // navigation error (ERR_INVALID_AUTH_CREDENTIALS) instead of showing the
  // 401's page: fetch it through the browser context's request API, and
  // render that body for the screenshot.
  const context = await browser.newContext({ javaScriptEnabled: false });
  const resp = await context.request.get(new URL('/login', base).href,
    { maxRedirects: 0, timeout: TIMEOUT });
  check('login: status 401', resp.status() === 401, resp.status());
  const h = resp.headers();
  const wa = h['www-authenticate'] || '';
  check('login: WWW-Authenticate Basic', /^Basic /i.test(wa), wa);
  check('login: an HTML page', /^text\/html/i.test(h['content-type'] || ''), h['content-type']);
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const w = watch(page, 'login');
  await page.setContent(await resp.text(), { waitUntil: 'load' });
  check('login: one visible <h1>', await page.locator('h1').count() === 1 &&
    await page.locator('h1').isVisible());
  await page.screenshot({ path: path.join(out, 'login.png'), fullPage: true });
  const bad = unexpected(w);
  check('login: no console errors', bad.length === 0, bad.join('; '));
  await context.close();
}

// A browser that holds a subscriber's login, outside every subscriber's
// network: the denial page's link, the challenge answered, the install page.
async function loginFlow(browser, out, base) {
  const context = await browser.newContext({ javaScriptEnabled: false,
    httpCredentials: credentials(opt['login-user'], opt['login-password']) });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const w = watch(page, 'login-flow');
  const first = await page.goto(new URL('/', base).href, { waitUntil: 'load' });
  check('login flow: first the denial (403)', first && first.status() === 403,
    first && first.status());
  const [resp] = await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    page.locator('a[href="/login"]').click(),
  ]);
  const final = new URL(page.url());
  check('login flow: ends on the install page', final.pathname === '/' && resp &&
    resp.status() === 200, `${page.url()} ${resp && resp.status()}`);
  const h1 = (await page.locator('h1').first().textContent() || '').trim();
  if (opt['login-name'] !== undefined)
    check('login flow: the login\'s subscriber in <h1>', h1.includes(opt['login-name']), h1);
  check('login flow: Install buttons', await page.locator('main form button').count() >= 1);
  await page.screenshot({ path: path.join(out, 'login-flow.png'), fullPage: true });
  // The first page's 403 is expected.
  const bad = unexpected(w, 403);
  check('login flow: no console errors other than the first 403', bad.length === 0,
    bad.join('; '));
  await context.close();
}

async function main() {
  fs.mkdirSync(opt.out, { recursive: true });
  const executablePath = opt.chromium || process.env.CHROMIUM || '/usr/bin/chromium';
  const args = ['--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'];
  if (typeof process.getuid === 'function' && process.getuid() === 0)
    args.push('--no-sandbox');          // Chromium refuses its sandbox as root
  const browser = await chromium.launch({ executablePath, headless: true, args,
    timeout: TIMEOUT * 3 });
  const summary = { browser: browser.version(), url: opt.url, subscriber: { packages: [] } };
  // Each view on its own: one that throws is a failure, the others still run.
  async function view(name, fn) {
    try {
      await fn();
    } catch (e) {
      check(`${name}: no exception`, false, e && e.stack ? e.stack : e);
    }
  }
  await view('install', async () => {
    summary.subscriber = await subscriberView(browser, opt.out);
  });
  let deny = { text: '' };
  await view('denied', async () => {
    deny = await refusedView(browser, opt.out, 'denied', opt['deny-url'] || opt.url,
      opt['deny-user'], opt['deny-password'], summary.subscriber);
    check('denied: a link to /login', deny.links === 1, deny.links);
    summary.denied = deny.text;
  });
  await view('login', () => loginView(browser, opt.out, opt['deny-url'] || opt.url));
  if (opt['login-user'] !== undefined)
    await view('login flow', () => loginFlow(browser, opt.out, opt['deny-url'] || opt.url));
  if (opt['suspended-url'] !== undefined || opt['suspended-user'] !== undefined) {
    await view('suspended', async () => {
      const susp = await refusedView(browser, opt.out, 'suspended',
        opt['suspended-url'] || opt.url, opt['suspended-user'], opt['suspended-password'],
        summary.subscriber);
      check('suspended: its own words, not the plain denial', susp.text !== deny.text,
        susp.text.slice(0, 80));
      summary.suspended = susp.text;
    });
  }
  await browser.close();
  summary.results = results;
  summary.failures = failures;
  fs.writeFileSync(path.join(opt.out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  process.exit(failures ? 1 : 0);
}

main().catch((e) => {
  process.stderr.write(`install_page.js: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
