// The browser harness itself: Debian's chromium starts headless, loads a warden gateway, and the
// recorders a console test leans on really see what they claim to (a dialog, a script refused by
// a CSP, a request that tried to leave loopback). A recorder that sees nothing would make every
// "no script ran" assertion pass vacuously, so each is proven to fire here.
import { describe, expect, it } from 'vitest';
import { useChromium } from '../support/browser.js';
import { useGateways } from '../support/http-gateway.js';
import { servePages } from '../support/console-world.js';

const chromium = useChromium();
const gateway = useGateways();

describe('the browser harness', () => {
  it('loads /healthz of a real gateway', async () => {
    const g = await gateway();
    const { page, scriptTraces, close } = await chromium().newPage();
    const res = await page.goto(`${g.url}/healthz`);
    expect(res?.status()).toBe(200);
    expect(JSON.parse(String(await page.evaluate('document.body.innerText')))).toMatchObject({ status: expect.any(String) });
    expect(scriptTraces()).toEqual([]);
    await close();
  });

  it('records a dialog, a CSP refusal and a page error, and lets nothing leave loopback', async () => {
    const pages = await servePages({
      '/alert': { body: '<p>hi</p><script>alert("from the page")</script>' },
      '/strict': {
        body: '<p id="x">strict</p><script>alert("inline under CSP")</script><img src="/missing.png" onerror="alert(3)">',
        headers: { 'content-security-policy': "default-src 'self'; script-src 'self'" },
      },
      '/throws': { body: '<script>null.boom()</script>' },
      '/outside': { body: '<img src="http://93.184.216.34/a.png"><img src="http://example.com/b.png">' },
    });
    try {
      const w = await chromium().newPage();
      await w.page.goto(`${pages.url}/alert`);
      expect(w.seen.dialogs).toEqual(['alert: from the page']);

      await w.page.goto(`${pages.url}/strict`);
      expect(await w.page.$eval('#x', (e) => e.textContent)).toBe('strict');
      await expect.poll(() => w.seen.cspViolations.length).toBe(2);
      expect(w.seen.cspViolations.sort()).toEqual(['script-src-attr inline', 'script-src-elem inline']);
      expect(w.seen.dialogs).toHaveLength(1);

      await w.page.goto(`${pages.url}/throws`);
      await expect.poll(() => w.seen.pageErrors.length).toBe(1);

      const failed: string[] = [];
      w.page.on('requestfailed', (r) => failed.push(r.url()));
      await w.page.goto(`${pages.url}/outside`, { waitUntil: 'networkidle0' });
      expect(failed.sort()).toEqual(['http://93.184.216.34/a.png', 'http://example.com/b.png']);
      expect(pages.hits().filter((h) => h.startsWith('/a.png') || h.startsWith('/b.png'))).toEqual([]);
      await w.close();
    } finally {
      await pages.close();
    }
  });
});
