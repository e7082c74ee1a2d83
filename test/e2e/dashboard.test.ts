// `buildctl serve` in a real browser: the system's headless Chromium (Debian's package)
// driven by playwright-core, against the built CLI serving a real store. Every page is read
// as a person would; changes made from other clones appear without a reload; what a message
// or a builder entry says is shown as text. Screenshots of every page are kept in a temp
// dir (its path is printed).
import { mkdtempSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addBuilders } from '../../src/ops/builders.js';
import { heartbeat } from '../../src/ops/heartbeat.js';
import { initStore } from '../../src/ops/init.js';
import { addJobOp, claimJobOp } from '../../src/ops/jobs.js';
import { acquireLockOp } from '../../src/ops/locks.js';
import { sendMessageOp } from '../../src/ops/messages.js';
import { launchBrowser, startServe, syntheticMetrics, type Served } from '../helpers/dashboard.js';
import { makeFleet, pushHeartbeatRef, testContext, type Fleet } from '../helpers/fleet.js';

const TOKEN = 'dashboard-token-for-the-browser-test-0123456789';
const XSS_SUBJECT = '<img src=x onerror="document.title=\'pwned\'"> deploy?';
const XSS_BODY = 'line one\n<script>document.title="pwned"</script>\n<b>not bold</b>';
const XSS_HOST = '<svg onload="document.title=\'pwned\'">rack-3';

let fleet: Fleet;
let served: Served;
let browser: BrowserContext;
let page: Page;
let shots: string;
let jobId: string;

const ctx = (id: string) => testContext(fleet.stores[id]!, id);
const shoot = async (name: string) => {
  const file = join(shots, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  expect(statSync(file).size).toBeGreaterThan(5_000);
};
const text = (selector: string) => page.locator(selector).first().innerText();

beforeAll(async () => {
  fleet = await makeFleet(['build1', 'build2', 'build3']);
  await addBuilders(ctx('build1'), [{ id: 'build4', host: XSS_HOST, labels: ['arm64', 'gpu'] }]);
  const now = Date.now();
  pushHeartbeatRef(fleet, 'build1', {
    heartbeat: { id: 'build1', timestamp: new Date(now).toISOString(), system: { cpu_pct: 37, memory_used_mb: 9100, memory_total_mb: 16000, disk_free_gb: 106.5, load_avg: [1.2, 1.1, 0.9], uptime_seconds: 86400 } },
    metrics: syntheticMetrics(now),
  });
  await heartbeat(ctx('build2'));
  ({ job: { id: jobId } } = await addJobOp(ctx('build1'), { type: 'build', branch: 'main', description: '<i>nightly</i> & <u>full</u>' }));
  await claimJobOp(ctx('build2'), {});
  await acquireLockOp(ctx('build2'), { name: 'deploy', ttl: '1h' });
  await sendMessageOp(ctx('build1'), { to: ['build2'], type: 'request', subject: XSS_SUBJECT, body: XSS_BODY, ackRequired: true });
  // The dashboard reads its own clone, as it would on an operator's machine.
  const dash = join(fleet.root, 'dashboard', 'store');
  await initStore(testContext(dash), { remote: fleet.remote, builders: [] });
  const tokenFile = join(fleet.root, 'token');
  writeFileSync(tokenFile, `${TOKEN}\n`);
  served = await startServe(dash, ['--interval', '2s', '--token-file', tokenFile]);
  browser = await launchBrowser();
  page = await browser.newPage();
  shots = mkdtempSync(join(tmpdir(), 'buildctl-dashboard-screenshots-'));
  process.stderr.write(`dashboard screenshots: ${shots}\n`);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await served?.stop();
  fleet?.cleanup();
});

/** A raw request, with a Host header of our choosing. */
const raw = (path: string, headers: Record<string, string> = {}) =>
  new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
    const url = new URL(path, served.url);
    const req = request(url, { headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });

describe('buildctl serve', () => {
  it('asks for its token on every request, answers only to its own address, and sends the security headers', async () => {
    const page1 = await raw('/');
    expect([page1.status, page1.headers.location]).toEqual([303, '/login']);
    expect((await raw('/api/fleet')).status).toBe(401);
    expect((await raw('/events')).status).toBe(401);
    expect((await raw('/api/fleet', { authorization: 'Bearer wrong-token-wrong-token' })).status).toBe(401);
    const api = await raw('/api/fleet', { authorization: `Bearer ${TOKEN}` });
    expect(api.status).toBe(200);
    expect((JSON.parse(api.body) as { fleet: { builders: Array<{ id: string }> } }).fleet.builders.map((b) => b.id)).toEqual(['build1', 'build2', 'build3', 'build4']);
    expect(api.headers).toMatchObject({
      'content-security-policy': expect.stringMatching(/script-src 'self';.*frame-ancestors 'none'/),
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
    });
    expect(api.headers['content-security-policy']).not.toContain('unsafe-inline');
    // A page elsewhere whose name was rebound to 127.0.0.1 is not answered.
    expect((await raw('/api/fleet', { authorization: `Bearer ${TOKEN}`, host: `attacker.example:${new URL(served.url).port}` })).status).toBe(421);
  });

  it('signs in with the form, then shows the fleet: health, state, job, heartbeat, clock, metrics with sparklines', async () => {
    await page.goto(served.url);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.fill('#token', TOKEN);
    await page.click('button[type=submit]');
    await page.waitForSelector('#fleet-table tr[data-builder="build4"]');
    const cookies = await browser.cookies();
    expect(cookies.find((c) => c.name === 'buildctl_session')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(await text('#fleet-summary')).toBe('4 builders: 2 healthy, 0 stale, 0 dead, 2 unknown');
    const row = (id: string) => page.locator(`#fleet-table tr[data-builder="${id}"]`).innerText();
    expect(await row('build1')).toMatch(/^build1\s+healthy\s+-\s+-\s+\d+s ago\s+ok\s+37%\s+9\.1\/16\.0 GB\s+106\.5 GB/);
    expect(await row('build2')).toMatch(new RegExp(`^build2\\s+healthy\\s+building\\s+${jobId}\\s+\\d+s ago\\s+ok`));
    expect(await row('build3')).toMatch(/^build3\s+unknown\s+-\s+-\s+never/);
    expect(await page.locator('#fleet-table tr[data-builder="build1"] svg.sparkline').count()).toBe(3);
    expect(await text('#check')).toMatch(/^WARNING: build3 has never sent a heartbeat; build4 has never sent a heartbeat/);
    expect(await text('#queue')).toBe('Jobs: 0 queued, 1 running, 0 completed, 0 failed, 0 cancelled, 0 dead');
    expect(await text('#locks-summary')).toBe('Locks: deploy (build2, token 1)');
    expect(await text('#freshness')).toMatch(/^data fetched \d+s ago; refreshed every 2s$/);
    await shoot('fleet');
  });

  it('one builder: its metrics as charts over the last hour and the last 7 days; its host shown as text', async () => {
    await page.goto(`${served.url}builders/build1`);
    await page.waitForSelector('#charts-week figure svg');
    const captions = await page.locator('figure.chart figcaption').allInnerTexts();
    expect(captions).toEqual([
      'CPU busy, last hour', 'Memory used, last hour', 'Disk free, last hour', 'Load (1 min), last hour',
      'CPU busy, last 7 days', 'Memory used, last 7 days', 'Disk free, last 7 days', 'Load (1 min), last 7 days',
    ]);
    expect(await page.locator('#charts-week polygon.band').count()).toBe(4);
    expect(await page.locator('figure.chart polyline.line').count()).toBe(8);
    await shoot('builder');
    await page.goto(`${served.url}builders/build4`);
    await page.waitForSelector('dl.facts');
    expect(await page.locator('dl.facts dd').first().innerText()).toBe(XSS_HOST);
    expect(await page.locator('dl.facts dd').nth(1).innerText()).toBe('arm64, gpu');
    expect(await page.locator('main svg[onload], main img').count()).toBe(0);
    expect(await page.title()).toBe('buildctl');
  });

  it('the job queue with filters, and a job\'s timeline from the commit trailers', async () => {
    await page.goto(`${served.url}jobs`);
    await page.waitForSelector(`#jobs-table tr[data-job="${jobId}"]`);
    expect(await page.locator(`#jobs-table tr[data-job="${jobId}"]`).innerText()).toMatch(new RegExp(`^${jobId}\\s+build\\s+\\d+\\s+running\\s+build2\\s+1/3\\s+\\d+s ago\\s+<i>nightly</i> & <u>full</u>$`));
    await page.selectOption('#filter-status', 'failed');
    expect(await text('#jobs-count')).toBe('0 of 1 job');
    expect(new URL(page.url()).search).toBe('?status=failed');
    await page.selectOption('#filter-status', 'running');
    expect(await text('#jobs-count')).toBe('1 of 1 job');
    await shoot('jobs');
    await page.click(`#jobs-table a[href="/jobs/${jobId}"]`);
    await page.waitForSelector('#job-timeline li');
    const timeline = await page.locator('#job-timeline li').allInnerTexts();
    expect(timeline.map((line) => line.replace(/^\S+ \S+ /, ''))).toEqual([
      `job.add by build1: job.add ${jobId} (build)`,
      `job.claim by build2: job.claim ${jobId} by build2`,
    ]);
    await shoot('job');
  });

  it('locks with holder and expiry; messages as threads with unread and unacked per recipient, their text as text', async () => {
    await page.goto(`${served.url}locks`);
    await page.waitForSelector('#locks-table tr[data-lock="deploy"]');
    expect(await page.locator('#locks-table tr[data-lock="deploy"]').innerText()).toMatch(/^deploy\s+build2\s+1\s+\d+s ago\s+in (59m|1h)\s+held$/);
    await shoot('locks');

    await page.goto(`${served.url}messages`);
    await page.waitForSelector('article.message');
    expect(await page.locator('#mailboxes tr[data-recipient="build2"]').innerText()).toMatch(/^build2\s+1\s+1$/);
    expect(await page.locator('#mailboxes tr[data-recipient="build1"]').innerText()).toMatch(/^build1\s+0\s+0$/);
    const message = page.locator('article.message').first();
    expect(await message.locator('.subject').innerText()).toBe(XSS_SUBJECT);
    expect(await message.locator('.body').innerText()).toBe(XSS_BODY);
    expect(await message.locator('footer').innerText()).toBe('read by: nobody yet; awaiting ack from: build2');
    expect(await page.locator('main img, main script, main b').count()).toBe(0);
    expect(await page.title()).toBe('buildctl');
    await shoot('messages');

    await page.goto(`${served.url}log`);
    await page.waitForSelector('#log-table tbody tr');
    const ops = await page.locator('#log-table tbody tr td:nth-child(3)').allInnerTexts();
    expect(ops).toEqual(expect.arrayContaining(['job.add', 'job.claim', 'lock.acquire', 'msg.send', 'builder.add']));
    await page.fill('#log-filter', 'lock.acquire');
    await expect.poll(async () => page.locator('#log-table tbody tr').count()).toBe(1);
    await shoot('log');
  });

  it('live: a heartbeat and a claim made from another clone appear without a reload', async () => {
    await page.goto(served.url);
    await page.waitForSelector('#fleet-table tr[data-builder="build3"]');
    // Set on this document: a reload would lose it. (These functions run in the page: no DOM types here.)
    await page.evaluate(() => void ((globalThis as Record<string, unknown>).sameDocument = true));
    expect(await page.locator('#fleet-table tr[data-builder="build3"]').innerText()).toMatch(/^build3\s+unknown/);
    const b3 = ctx('build3');
    await heartbeat(b3);
    const { job } = await addJobOp(b3, { type: 'test', target: 'build3' });
    await claimJobOp(b3, {});
    await page.waitForFunction(
      (id) => {
        type El = { textContent: string | null; querySelector: (s: string) => El | null };
        const row = (globalThis as unknown as { document: El }).document.querySelector('#fleet-table tr[data-builder="build3"]');
        return row?.querySelector('.badge')?.textContent === 'healthy' && row.querySelector('td.state')?.textContent === 'building' && row.querySelector('td.job')?.textContent === id;
      },
      job.id,
      { timeout: 60_000 },
    );
    expect(await page.evaluate(() => (globalThis as Record<string, unknown>).sameDocument)).toBe(true);
    await shoot('live');
  });

  it('says when the remote is unreachable, and stops saying it when it is back', async () => {
    renameSync(fleet.remote, `${fleet.remote}.away`);
    try {
      await page.waitForSelector('#alert:not([hidden])', { timeout: 60_000 });
      expect(await text('#alert')).toMatch(/^Remote unreachable: showing the state last fetched \d+s ago \(cannot reach the store's remote to fetch/);
      expect(await page.locator('#freshness').getAttribute('data-state')).toBe('unreachable');
      await shoot('unreachable');
    } finally {
      renameSync(`${fleet.remote}.away`, fleet.remote);
    }
    await page.waitForSelector('#alert[hidden]', { state: 'attached', timeout: 60_000 });
    expect(await page.locator('#freshness').getAttribute('data-state')).toBe('fresh');
  });
});
