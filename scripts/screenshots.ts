// `npm run screenshots`: the README's pictures of the dashboard, from a real run: a fleet of
// four builders against a local bare remote (a week of metrics on each heartbeat ref, jobs,
// a lock, messages), `buildctl serve` on a clone of its own, and the system's Chromium.
// Writes docs/screenshots/*.png (small: one viewport each, not the full page).
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { addJobOp, claimJobOp, finishJobOp, listJobsOp } from '../src/ops/jobs.js';
import { initStore } from '../src/ops/init.js';
import { acquireLockOp } from '../src/ops/locks.js';
import { sendMessageOp } from '../src/ops/messages.js';
import { setStatus } from '../src/ops/status-set.js';
import { launchBrowser, startServe, syntheticMetrics } from '../test/helpers/dashboard.js';
import { makeFleet, pushHeartbeatRef, REPO_ROOT, testContext } from '../test/helpers/fleet.js';

for (const name of ['BUILD_SERVER_ID', 'BUILDCTL_STORE']) delete process.env[name];
const out = resolve(REPO_ROOT, process.argv[2] ?? 'docs/screenshots');
const BUILDERS = ['build1', 'build2', 'build3', 'build4'];
const fleet = await makeFleet(BUILDERS);
const ctx = (id: string) => testContext(fleet.stores[id] as string, id);
try {
  const now = Date.now();
  BUILDERS.forEach((id, i) => {
    if (id === 'build4') return; // build4 went quiet a while ago
    pushHeartbeatRef(fleet, id, {
      heartbeat: { id, timestamp: new Date(now - i * 7000).toISOString(), system: { cpu_pct: 20 + i * 25, memory_used_mb: 6000 + i * 2500, memory_total_mb: 16000, disk_free_gb: 120 - i * 30, load_avg: [1 + i, 1, 1], uptime_seconds: 86400 } },
      metrics: syntheticMetrics(now, i + 1),
    });
  });
  pushHeartbeatRef(fleet, 'build4', { heartbeat: { id: 'build4', timestamp: new Date(now - 4 * 60_000).toISOString() }, metrics: '' });
  await addJobOp(ctx('build1'), { type: 'build', branch: 'main', description: 'nightly build' });
  await addJobOp(ctx('build1'), { type: 'test', branch: 'release/2.4', description: 'integration tests' });
  await addJobOp(ctx('build1'), { type: 'build', branch: 'feature/cache', description: 'cache warm-up' });
  await addJobOp(ctx('build1'), { type: 'deploy', branch: 'main', description: 'staging deploy', priority: 2 });
  await claimJobOp(ctx('build2'), {});
  await claimJobOp(ctx('build3'), {});
  const failing = (await listJobsOp(ctx('build3'), { fetch: true })).find((j) => j.assigned_to === 'build3');
  if (failing) await finishJobOp(ctx('build3'), 'fail', { id: failing.id, reason: 'unit tests failed: 3 of 812' });
  await setStatus(ctx('build1'), { state: 'idle' });
  await acquireLockOp(ctx('build2'), { name: 'deploy-staging', ttl: '20m' });
  await sendMessageOp(ctx('build1'), { to: ['all'], type: 'warning', ackRequired: true, subject: 'maintenance window tonight', body: 'maintenance window tonight 22:00-23:00 UTC\nThe artifact store is read-only then; queue nothing long.' });
  const request = await sendMessageOp(ctx('build3'), { to: ['build2'], type: 'request', body: 'can you rebuild the cache image?\nIt is stale since the base image update.' });
  await sendMessageOp(ctx('build2'), { to: ['build3'], type: 'info', replyTo: request.message.id, body: 'on it, after the current build' });
  const dash = join(fleet.root, 'dashboard', 'store');
  await initStore(testContext(dash), { remote: fleet.remote, builders: [] });
  const served = await startServe(dash, ['--interval', '5s']);
  const browser = await launchBrowser({ width: 1100, height: 620 });
  try {
    await mkdir(out, { recursive: true });
    const page = await browser.newPage();
    const shot = async (path: string, selector: string, name: string, part?: string) => {
      await page.goto(`${served.url}${path}`);
      await page.waitForSelector(selector);
      await page.waitForTimeout(300);
      if (part) await page.locator(part).screenshot({ path: join(out, `${name}.png`) });
      else await page.screenshot({ path: join(out, `${name}.png`) });
      process.stdout.write(`wrote ${join(out, `${name}.png`)}\n`);
    };
    await shot('', '#fleet-table tr[data-builder="build4"]', 'fleet');
    await shot('builders/build2', '#charts-week figure svg', 'builder', 'section:has(#charts-week)');
    await shot('jobs', '#jobs-table tbody tr', 'jobs');
    await shot('messages', 'article.message', 'messages');
  } finally {
    await browser.close();
    await served.stop();
  }
} finally {
  fleet.cleanup();
}
