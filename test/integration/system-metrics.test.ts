// The heartbeat's system reading against the real host: what it keeps between beats
// (.git/buildctl/cpu-counters.json) is this clone's own state, and a file cut short by a
// crash, or holding anything else, must not stop a heartbeat.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { collectSystemMetrics } from '../../src/ops/system-metrics.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('system metrics', () => {
  it.each([
    ['cut short by a crash', '{"busy": 12'],
    ['empty', ''],
    ['of another shape', '{"busy": "many", "idle": null}'],
    ['not an object', 'null'],
  ])('a counters file %s is replaced, and the reading goes on', async (_what, text) => {
    dir = mkdtempSync(join(tmpdir(), 'buildctl-metrics-'));
    const state = join(dir, 'state');
    mkdirSync(state);
    writeFileSync(join(state, 'cpu-counters.json'), text);
    const reading = await collectSystemMetrics(dir, state);
    expect(reading.cpu_pct).toBeGreaterThanOrEqual(0);
    expect(reading.cpu_pct).toBeLessThanOrEqual(100);
    const kept = JSON.parse(readFileSync(join(state, 'cpu-counters.json'), 'utf8')) as { busy: unknown; idle: unknown };
    expect(typeof kept.busy).toBe('number');
    expect(typeof kept.idle).toBe('number');
  });
});
