// `buildctl guide` (issue 17): the session checklist with the exact commands for this
// builder's identity and store, as text and --json, and as a marked AGENTS.md block that a
// second run replaces without touching the rest of the file. The printed commands are run
// as they are, by a shell.
import { mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, makeFleet, runCli, runProcess, type Fleet } from '../helpers/fleet.js';

let fleet: Fleet;
let bin: string;

beforeAll(async () => {
  fleet = await makeFleet(['build1', 'build2']);
  // `buildctl` and `sm` on PATH, as an operator has them.
  bin = join(fleet.root, 'bin');
  mkdirSync(bin);
  symlinkSync(CLI, join(bin, 'buildctl'));
  symlinkSync(CLI, join(bin, 'sm'));
});
afterAll(() => fleet?.cleanup());

interface GuideJson {
  guide: {
    builder: string;
    store: string;
    buildctl: string;
    sections: Array<{ id: string; steps: Array<{ id: string; commands: string[]; tools: string[] }> }>;
    never: Array<{ command: string }>;
  };
}

const commandsOf = (g: GuideJson['guide']) => g.sections.flatMap((s) => s.steps.flatMap((step) => step.commands));

describe('buildctl guide', () => {
  it('prints the checklist with the exact commands for this builder and store, and --json the same steps', async () => {
    const store = fleet.stores.build1!;
    const text = await runCli(['--store', store, '--as', 'build1', 'guide']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^## buildctl session checklist for build1\n/);
    for (const heading of ['### At the start of a session', '### While working', '### At the end of a session', '### Never, without a human operator']) expect(text.stdout).toContain(heading);
    const json = await runCli(['--store', store, '--as', 'build1', 'guide', '--json']);
    expect(json.code).toBe(0);
    const { guide } = JSON.parse(json.stdout) as GuideJson;
    expect(guide).toMatchObject({ builder: 'build1', store, buildctl: `buildctl --store ${store} --as build1` });
    for (const command of commandsOf(guide)) {
      expect(command).toMatch(new RegExp(`^(buildctl|sm) --store ${store} --as build1 `));
      expect(text.stdout).toContain(`\`${command}\``);
    }
    expect(guide.sections.find((s) => s.id === 'end')?.steps.map((s) => s.tools)).toEqual([['job_complete', 'job_fail'], ['lock_release'], ['status_set']]);
  });

  it('leaves out what a fresh shell finds by itself: the default store, an id from the id file', async () => {
    const home = join(fleet.root, 'home-default');
    const idFile = join(fleet.root, 'build_server_id');
    writeFileSync(idFile, 'build2\n');
    mkdirSync(join(home, '.buildctl'), { recursive: true });
    symlinkSync(fleet.stores.build2!, join(home, '.buildctl', 'store'));
    const quiet = await runCli(['guide', '--json'], { env: { HOME: home, BUILDCTL_ID_FILE: idFile } });
    expect(quiet.code, quiet.stderr).toBe(0);
    const g = (JSON.parse(quiet.stdout) as GuideJson).guide;
    expect(g.buildctl).toBe('buildctl');
    expect(commandsOf(g)).toContain('buildctl status');
    // From BUILD_SERVER_ID (this shell's only): the commands say --as.
    const fromEnv = await runCli(['guide', '--json'], { env: { HOME: home, BUILD_SERVER_ID: 'build2' } });
    expect((JSON.parse(fromEnv.stdout) as GuideJson).guide.buildctl).toBe('buildctl --as build2');
  });

  it('its commands run as printed', async () => {
    const store = fleet.stores.build1!;
    const { guide } = JSON.parse((await runCli(['--store', store, '--as', 'build1', 'guide', '--json'])).stdout) as GuideJson;
    const env = { PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, HOME: fleet.root, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', BUILDCTL_ID_FILE: join(fleet.root, 'none') };
    const steps = new Map(guide.sections.flatMap((s) => s.steps.map((step) => [step.id, step.commands] as const)));
    for (const command of [steps.get('fleet')![0]!, steps.get('mail')![0]!, steps.get('locks')![0]!, steps.get('job')![0]!, steps.get('idle')![0]!]) {
      const run = await runProcess('sh', ['-c', command], { cwd: fleet.root, env });
      expect(run.code, `${command}: ${run.stderr}`).toBe(0);
    }
    const progress = steps.get('progress')![0]!.replace('ID', 'build2');
    const sent = await runProcess('sh', ['-c', progress], { cwd: fleet.root, env });
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stdout).toMatch(/^sent msg_\d+_[0-9a-f]{6} to build2$/m);
  });

  it('--agents-md writes the checklist as a marked block, replaces only the block on a later run, and keeps the rest', async () => {
    const workspace = join(fleet.root, 'workspace');
    mkdirSync(workspace);
    const file = join(workspace, 'AGENTS.md');
    writeFileSync(file, '# Project notes\n\nRun `make test` before pushing.\n');
    const as = (args: string[]) => runCli(['--store', fleet.stores.build1!, '--as', 'build1', 'guide', '--agents-md', workspace, ...args]);

    const first = await as([]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toBe(`updated ${file}: the checklist block for build1\n`);
    const written = readFileSync(file, 'utf8');
    expect(written.startsWith('# Project notes\n\nRun `make test` before pushing.\n\n<!-- buildctl guide: begin')).toBe(true);
    expect(written).toContain('## buildctl session checklist for build1');
    expect(written.trimEnd().endsWith('<!-- buildctl guide: end -->')).toBe(true);

    const mtime = statSync(file).mtimeMs;
    const again = await as(['--json']);
    expect(JSON.parse(again.stdout)).toEqual({ agents_md: { path: file, action: 'unchanged' }, changed: false, queued: false, commit: null });
    expect(readFileSync(file, 'utf8')).toBe(written);
    expect(statSync(file).mtimeMs).toBe(mtime);

    // The operator edits around the block, and the block goes stale: a run keeps the edits and renews the block.
    writeFileSync(file, `${written.replace('## buildctl session checklist', '## an edited checklist')}\n## Deploys\nask ops first\n`);
    const third = await as([]);
    expect(third.code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(`${written}\n## Deploys\nask ops first\n`);

    const fresh = join(fleet.root, 'fresh', 'AGENTS.md');
    mkdirSync(join(fleet.root, 'fresh'));
    const created = await runCli(['--store', fleet.stores.build1!, '--as', 'build1', 'guide', '--agents-md', fresh]);
    expect(created.stdout).toBe(`created ${fresh}: the checklist block for build1\n`);
  });

  it('says what is missing: no store, no identity', async () => {
    const noStore = await runCli(['--store', join(fleet.root, 'nowhere'), '--as', 'build1', 'guide']);
    expect([noStore.code, noStore.stderr.split('\n')[0]]).toEqual([2, `buildctl: no buildctl store at ${join(fleet.root, 'nowhere')}`]);
    const nobody = await runCli(['--store', fleet.stores.build1!, 'guide', '--json']);
    expect(nobody.code).toBe(2);
    expect(JSON.parse(nobody.stdout)).toMatchObject({ error: { code: 'unknown_identity', hint: expect.stringContaining('--as') } });
  });
});
