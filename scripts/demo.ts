// `npm run demo`: a throwaway fleet on this machine. Creates a store with the embedded
// default remote, registers two builders as two clones, heartbeats from both, queues a
// job that build1 claims, sends build2 a message, and prints `buildctl status`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const cli = resolve(import.meta.dirname, '..', 'cli.js');
const root = mkdtempSync(join(tmpdir(), 'buildctl-demo-'));
const store1 = join(root, 'build1', 'store');
const store2 = join(root, 'build2', 'store');

const run = (label: string, args: string[]): void => {
  process.stdout.write(`\n$ ${label}\n`);
  const result = spawnSync(process.execPath, [cli, ...args], { stdio: 'inherit', env: { ...process.env, BUILD_SERVER_ID: '' } });
  if (result.status !== 0) {
    process.stderr.write(`demo step failed with exit code ${result.status}\n`);
    process.exit(result.status ?? 1);
  }
};

process.stdout.write(`buildctl demo in ${root}\n`);
run('buildctl init --builder build1 --builder build2          # on build1', ['--store', store1, 'init', '--builder', 'build1', '--builder', 'build2']);
run(`buildctl init --remote ${store1}.git   # on build2`, ['--store', store2, 'init', '--remote', `${store1}.git`]);
run('buildctl heartbeat --as build1', ['--store', store1, '--as', 'build1', 'heartbeat']);
run('buildctl heartbeat --as build2', ['--store', store2, '--as', 'build2', 'heartbeat']);
run('buildctl job add --type build --branch main --description "demo build"', ['--store', store1, 'job', 'add', '--type', 'build', '--branch', 'main', '--description', 'demo build']);
run('buildctl job claim --as build1', ['--store', store1, '--as', 'build1', 'job', 'claim']);
run('buildctl msg send build2 "build started on build1" --as build1', ['--store', store1, '--as', 'build1', 'msg', 'send', 'build2', 'build started on build1']);
run('buildctl msg list --as build2', ['--store', store2, '--as', 'build2', 'msg', 'list']);
run('buildctl status --as build2', ['--store', store2, '--as', 'build2', 'status']);
process.stdout.write(`\nThe demo fleet stays in ${root} (the remote is ${store1}.git); remove it when done.\n`);
