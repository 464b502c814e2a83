// Debian's chromium (/usr/bin/chromium), headless, driven by puppeteer-core: no browser is ever
// downloaded. Each launch gets its own profile in a temp dir, talks to the browser over a pipe
// (no debugging port), and can reach nothing but loopback: every other host resolves to nothing
// and every non-loopback request goes to a dead proxy. Pages record what would prove that a
// script ran that should not have (dialogs, console errors, uncaught errors, CSP violations) and
// every URL they requested, so a test can assert on all of it.
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import puppeteer, { type Browser, type BrowserContext, type Page } from 'puppeteer-core';
import { afterAll, beforeAll } from 'vitest';
import { cleanupOwned, isAlive, recordOwned, recordPid, tempDir } from './processes.js';

export const CHROMIUM = '/usr/bin/chromium';
export const VIEWPORT = { width: 1280, height: 800, deviceScaleFactor: 1 } as const;

/** What a page did that a test may want to forbid; every list only grows. */
export interface Seen {
  /** `type: message` of each alert/confirm/prompt/beforeunload (each was dismissed). */
  dialogs: string[];
  /** console.error messages (CSP refusals and failed loads are logged here too). */
  consoleErrors: string[];
  /** Uncaught exceptions in the page. */
  pageErrors: string[];
  /** `directive blocked-uri` of each securitypolicyviolation event. */
  cspViolations: string[];
  /** Every URL requested, in order. */
  requests: string[];
}

export interface WatchedPage {
  page: Page;
  /** Its browser context: pass it to newPage() for another tab with the same cookies. */
  context: BrowserContext;
  seen: Seen;
  /** Everything recorded that says a script ran or was refused: dialogs, page errors, CSP violations, console errors. */
  scriptTraces(): string[];
  /** Empties `seen`: what follows is judged on its own (after a step that was meant to fail loudly). */
  forget(): void;
  /** Closes the page, and the context with its cookies when newPage() made it. */
  close(): Promise<void>;
}

export interface Chromium {
  browser: Browser;
  pid: number;
  /**
   * A page in a fresh incognito-like context (its own cookies, so two pages can be two users), or
   * in `context` (another tab of the same user).
   */
  newPage(context?: BrowserContext): Promise<WatchedPage>;
  close(): Promise<void>;
}

// Chromium phones home on its own (component updates, safe browsing, variations): switched off,
// and whatever remains cannot leave loopback anyway.
const QUIET = [
  '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-default-apps',
  '--disable-domain-reliability', '--disable-client-side-phishing-detection', '--metrics-recording-only',
  '--disable-features=Translate,MediaRouter,OptimizationHints,AutofillServerCommunication,InterestFeedContentSuggestions',
  '--font-render-hinting=none', '--hide-scrollbars', '--mute-audio',
];
// Every host but 127.0.0.1 and `localhost` (so a test can serve a cross-site page from it)
// resolves to nothing, IP literals included. Should a request get past that, anything not to
// loopback (which Chromium never proxies) goes to the discard port and fails.
const LOOPBACK_ONLY = [
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost',
  '--proxy-server=http://127.0.0.1:9',
];

export async function launchChromium(): Promise<Chromium> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (scripts/test.sh installs it)`);
  const profile = tempDir('chromium');
  // Renderer and zygote processes are the browser's children, not ours: should this worker die,
  // global teardown finds them by the profile path in their arguments.
  recordOwned({ argvUnder: [profile] });
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    pipe: true,
    userDataDir: profile,
    defaultViewport: VIEWPORT,
    // The sandbox needs user namespaces a root process is refused; as any other user, keep it.
    args: [...QUIET, ...LOOPBACK_ONLY, ...(process.getuid?.() === 0 ? ['--no-sandbox'] : [])],
    handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false,
    timeout: 60_000,
  });
  const pid = browser.process()?.pid;
  if (pid === undefined) {
    await browser.close();
    throw new Error('chromium started without a process id');
  }
  recordPid(pid);
  const contexts = new Set<BrowserContext>();
  return {
    browser,
    pid,
    async newPage(shared) {
      const context = shared ?? await browser.createBrowserContext();
      if (!shared) contexts.add(context);
      const page = await context.newPage();
      const seen = await watch(page);
      return {
        page,
        context,
        seen,
        scriptTraces: () => [
          ...seen.dialogs.map((d) => `dialog ${d}`), ...seen.pageErrors.map((e) => `pageerror ${e}`),
          ...seen.cspViolations.map((v) => `csp ${v}`),
          // The browser asks for /favicon.ico by itself; its 404 says nothing about the page's scripts.
          ...seen.consoleErrors.filter((e) => !/ \(http:\/\/[^/]+\/favicon\.ico\)$/.test(e)).map((e) => `console.error ${e}`),
        ],
        forget() {
          for (const list of Object.values(seen)) list.length = 0;
        },
        async close() {
          if (shared) return void await page.close().catch(() => undefined);
          contexts.delete(context);
          await context.close().catch(() => undefined);
        },
      };
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => undefined);
      const closed = browser.close().then(() => true, () => false);
      const inTime = await Promise.race([closed, new Promise<false>((r) => setTimeout(() => r(false), 10_000).unref())]);
      if (!inTime && isAlive(pid)) {
        try { process.kill(pid, 'SIGKILL'); } catch { /* gone meanwhile */ }
      }
      cleanupOwned({ argvUnder: [profile] });
      rmSync(profile, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}

async function watch(page: Page): Promise<Seen> {
  const seen: Seen = { dialogs: [], consoleErrors: [], pageErrors: [], cspViolations: [], requests: [] };
  page.on('dialog', (d) => {
    seen.dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss().catch(() => undefined);
  });
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const at = m.location().url;
    seen.consoleErrors.push(at ? `${m.text()} (${at})` : m.text());
  });
  page.on('pageerror', (e) => { seen.pageErrors.push(e instanceof Error ? e.message : String(e)); });
  page.on('request', (r) => { seen.requests.push(r.url()); });
  // The binding and the listener are installed by the debugger, before any of the page's own
  // scripts and outside its CSP, so a refused inline script or handler is reported either way.
  await page.exposeFunction('__wardenCspViolation', (v: string) => { seen.cspViolations.push(v); });
  // A string: this runs in the page, and the test project compiles without the DOM's types.
  await page.evaluateOnNewDocument(`document.addEventListener('securitypolicyviolation', (e) => {
    window.__wardenCspViolation(e.violatedDirective + ' ' + (e.blockedURI || '(inline)'));
  });`);
  await page.emulateMediaFeatures([{ name: 'prefers-reduced-motion', value: 'reduce' }]);
  return seen;
}

/** One browser for a test file: launched before its tests, closed after them. */
export function useChromium(): () => Chromium {
  let chromium: Chromium | undefined;
  beforeAll(async () => { chromium = await launchChromium(); });
  afterAll(async () => { await chromium?.close(); });
  return () => {
    if (!chromium) throw new Error('chromium is not running: call useChromium() at the top level of the test file');
    return chromium;
  };
}

export const SCREENSHOT_DIR = resolve(import.meta.dirname, '../../docs/screenshots');

/**
 * With WARDEN_SCREENSHOTS=1, writes the page at the fixed viewport to docs/screenshots/<name>.png
 * and returns the path; otherwise does nothing, so ordinary runs never rewrite committed files.
 */
export async function screenshot(page: Page, name: string): Promise<string | undefined> {
  if (process.env.WARDEN_SCREENSHOTS !== '1') return undefined;
  if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`screenshot name ${JSON.stringify(name)}: use a-z, 0-9 and -`);
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.setViewport(VIEWPORT);
  await page.screenshot({ path, type: 'png', fullPage: false, captureBeyondViewport: false });
  const kb = Math.round(statSync(path).size / 1024);
  if (kb > 200) process.stderr.write(`screenshot ${name}.png is ${kb} KB (keep it under ~200 KB)\n`);
  return path;
}
