// The example watcher (examples/fleet-watch.yml) is a GitHub Actions workflow that Actions
// would accept: a schedule every 10 minutes, a job with runs-on and steps, the check, and a
// notification when it fails; secrets only by reference.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import cron from 'node-cron';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT } from '../helpers/fleet.js';

const text = readFileSync(join(REPO_ROOT, 'examples', 'fleet-watch.yml'), 'utf8');
interface Step { name?: string; uses?: string; run?: string; if?: string; id?: string; with?: Record<string, unknown>; env?: Record<string, string> }
const workflow = parse(text) as { name: string; on: { schedule: Array<{ cron: string }>; workflow_dispatch?: unknown }; permissions: Record<string, string>; jobs: Record<string, { 'runs-on': string; 'timeout-minutes': number; steps: Step[] }> };

describe('examples/fleet-watch.yml', () => {
  it('runs on a schedule every 10 minutes (and by hand)', () => {
    expect(workflow.on.schedule).toEqual([{ cron: '*/10 * * * *' }]);
    expect(cron.validate(workflow.on.schedule[0]!.cron)).toBe(true);
    expect(workflow.on).toHaveProperty('workflow_dispatch');
    expect(workflow.permissions).toEqual({ contents: 'read' });
  });

  it('has one job with runs-on, a time limit and steps that each use an action or run a command', () => {
    const jobs = Object.values(workflow.jobs);
    expect(jobs).toHaveLength(1);
    const job = jobs[0]!;
    expect(job['runs-on']).toBe('ubuntu-latest');
    expect(job['timeout-minutes']).toBeGreaterThan(0);
    expect(job.steps.length).toBeGreaterThan(3);
    for (const step of job.steps) expect(Number(step.uses !== undefined) + Number(step.run !== undefined), step.name).toBe(1);
    for (const step of job.steps.filter((s) => s.uses)) expect(step.uses).toMatch(/^[\w-]+\/[\w-]+@v\d+$/);
  });

  it('checks the fleet with buildctl check, then notifies when the check fails', () => {
    const steps = Object.values(workflow.jobs)[0]!.steps;
    const check = steps.findIndex((s) => s.run?.includes('buildctl --store "$GITHUB_WORKSPACE/store" check'));
    const notify = steps.findIndex((s) => s.if === 'failure()' && s.run?.includes('curl'));
    expect(check).toBeGreaterThan(0);
    expect(notify).toBeGreaterThan(check);
    expect(steps[check]!.id).toBe('check');
    expect(steps[notify]!.env).toEqual({ SLACK_WEBHOOK_URL: '${{ secrets.SLACK_WEBHOOK_URL }}' });
  });

  it('names secrets only by reference', () => {
    expect(text).not.toMatch(/hooks\.slack\.com|ghp_|xox[abp]-|whsec_/);
    const secrets = [...text.matchAll(/\$\{\{\s*secrets\.(\w+)\s*\}\}/g)].map((m) => m[1]);
    expect(new Set(secrets)).toEqual(new Set(['FLEET_REPO_TOKEN', 'SLACK_WEBHOOK_URL']));
  });
});
