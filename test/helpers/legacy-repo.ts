// A whole coordination repository of the older scripts, assembled from the upstream
// fixtures (../shared/fixtures/upstream) and files written here: months of history, four
// Linux builders and two Windows machines in folders and no registry, hundreds of files
// that are not coordination documents (JSON with a byte-order mark, JSON with comments,
// broken JSON, scripts, docs), the scripts' own bookkeeping beside the documents, the
// Python archiver's archive, and heartbeat branches of the older layout. Committed with
// plain git, as those scripts did.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitSync, SHARED } from './fleet.js';

export const FIXTURES = join(SHARED, 'fixtures', 'upstream');
export const fixturesPresent = existsSync(FIXTURES);
export const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');

const BOM = '\uFEFF';
const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;
/** As PowerShell's ConvertTo-Json | Set-Content -Encoding UTF8 writes it: a BOM, CRLF, 4 spaces. */
const powershellJson = (value: unknown): string => `${BOM}${JSON.stringify(value, null, 4).replace(/\n/g, '\r\n')}\r\n`;

/** A message in the older scripts' shape (send_message.sh). */
export const legacyMessage = (fields: { id: string; from: string; to: string; subject: string; body: string; timestamp: string; read?: boolean; type?: string }) => ({
  id: fields.id,
  from: fields.from,
  to: fields.to,
  type: fields.type ?? 'info',
  subject: fields.subject,
  body: fields.body,
  timestamp: fields.timestamp,
  read: fields.read ?? false,
  ack_required: false,
  ack_status: 'not_requested',
  acknowledged_by: [],
});

/** A credential pasted into a message by an older script: a GitHub token format, made up. */
export const PASTED_TOKEN = 'ghp_k3Jd9QmZ7xR2vB8nT4pL6wY1sC5fH0gAe7Uq';

const statusFor = (id: string, ip: string, manager: string) => {
  const base = JSON.parse(fixture('63a3f9c4__build1__status.json')) as Record<string, unknown>;
  return json({ ...base, server: id, ip, manager, timestamp: '2025-11-04T09:00:00Z' });
};

/** The files of main at the end of its history. */
const finalTree = (): Record<string, string> => {
  const messages = JSON.parse(fixture('f7da8773__coordination__messages.json')) as { messages: unknown[] };
  messages.messages.push(
    legacyMessage({ id: 'msg_1763700000_1001', from: 'windows', to: 'build1', subject: 'RDP gateway restarted', body: 'code1 and code2 are reachable again', timestamp: '2025-11-21 08:00' }),
    legacyMessage({ id: 'msg_1763700100_1002', from: 'code1', to: 'all', subject: 'Windows build agents online', body: 'both Windows machines report in', timestamp: '2025-11-21 08:05', read: true }),
    legacyMessage({ id: 'msg_1763700200_1003', from: 'build2', to: 'build3', subject: 'deploy access', body: `use this to push: token ${PASTED_TOKEN}`, timestamp: '2025-11-21 08:10' }),
  );
  const files: Record<string, string> = {
    'README.md': '# Build\n\nCoordination repository for the build servers. See Communications/README.md.\n',
    '.gitignore': 'coordination/.locks/\n*.pyc\n.build_server_id\n',
    '.build_server_id.example': 'build1\n',
    '.vscode/settings.json': '{\n  // editor settings: JSON with comments, not JSON\n  "files.eol": "\\n",\n}\n',
    '.github/workflows/validate.yml': 'name: validate\non: [push]\njobs: {}\n',
    'Communications/README.md': '# Communications\n',
    'Communications/status.json': json({ status: 'migrated', servers: ['build1', 'build2'] }),
    'Communications/messages.json': json({ messages: [{ id: 1, text: 'another system entirely' }] }),
    'docs/auto_reply_rules.json': fixture('60745a74__docs__auto_reply_rules.json'),
    'scripts/servers/servers.json': powershellJson({ servers: [{ name: 'code1', host: 'LL-Code-01', ip: '10.1.3.75' }, { name: 'code2', host: 'LL-Code-02', ip: '10.1.3.76' }] }),
    'scripts/servers/Get-CodeServers.ps1': 'Get-Content servers.json | ConvertFrom-Json\r\n',
    'scripts/send_message.sh': '#!/bin/bash\n# the old send script\n',
    'scripts/read_messages.sh': '#!/bin/bash\n# the old read script\n',
    'build1/status.json': fixture('97a63f3f__build1__status.json'),
    'build1/heartbeat.json': fixture('a7c95387__build1__heartbeat.json'),
    'build1/logs/mvn_install.log': '[INFO] BUILD SUCCESS\n',
    'build2/status.json': fixture('b6e41b11__build2__status.json'),
    'build2/heartbeat.json': fixture('b6e41b11__build2__heartbeat.json'),
    'build2/logs/build_cloudstack_ExternalNew_20251029T231723Z-artifacts.json': json({ artifacts: ['engine.war'] }),
    'build3/status.json': statusFor('build3', '10.1.3.178', 'Codex'),
    'build3/heartbeat.json': json({ server: 'build3', timestamp: '2025-11-04 09:00', uptime_seconds: 12, healthy: true }),
    'build4/status.json': statusFor('build4', '10.1.3.179', 'GitHub Copilot'),
    'code1/status.json': powershellJson({ server_id: 'code1', hostname: 'LL-Code-01', ip: '10.1.3.75', role: 'Windows Development Server', status: 'online', workspace: 'K:\\Projects\\Build', timestamp: '2025-11-13T03:40:00Z', capabilities: { cores: 12, memory_gb: 32 } }),
    'code2/status.json': fixture('bde9bcce__code2__status.json'),
    'code2/heartbeat.json': fixture('3cdd91b6__code2__heartbeat.json'),
    'code2/logs/metrics.json': json({ operations: [] }),
    'code2/queue/message_queue.json': json({ queue: [] }),
    'windows/README.md': '# Windows machines\n\nRDP through the gateway; credentials are in the vault.\n',
    'coordination/messages.json': json(messages),
    'coordination/jobs.json': fixture('a7c95387__coordination__jobs.json'),
    'coordination/locks.json': fixture('63a3f9c4__coordination__locks.json'),
    'coordination/message_stats.json': fixture('a0d23792__coordination__message_stats.json'),
    'coordination/message_stats.json.bak': fixture('6b2bd427__coordination__message_stats.json'),
    'coordination/unread_messages_status.json': fixture('8187a52d__coordination__unread_messages_status.json'),
    'coordination/auto_responder_state_build2.json': json({ last_processed: 'msg_1763663225_58', replies_sent: 42 }),
    'coordination/archives/messages_archive_20251113_111711.json': fixture('b57d861b__coordination__archives__messages_archive_20251113_111711.json'),
    'shared/build_config.json': fixture('63a3f9c4__shared__build_config.json'),
    'shared/file_registry.json': fixture('7cd1935f__shared__file_registry.json'),
    'shared/health_dashboard.json': fixture('6ee2f16e__shared__health_dashboard.json'),
    'shared/files/build2/artifact/20251031T153435Z_cloudstack-vnf-framework_4.21.7-1_all.deb': '!<arch>\ndebian-binary   \n',
  };
  // Hundreds of files that have nothing to do with coordination.
  for (let i = 0; i < 40; i++) {
    files[`Features/Feature${i}/README.md`] = `# Feature ${i}\n`;
    files[`Features/Feature${i}/contracts/Create${i}Cmd.json`] = json({ name: `Create${i}`, params: { id: 'uuid' } });
    files[`Features/Feature${i}/contracts/Create${i}Response.json`] = json({ response: { id: i } });
    files[`docs/notes-${i}.md`] = `Notes ${i}\n`;
    files[`scripts/tool_${i}.sh`] = `#!/bin/bash\necho ${i}\n`;
    files[`Architecture/diagrams/d${i}.txt`] = `diagram ${i}\n`;
  }
  return files;
};

const writeTree = (dir: string, files: Record<string, string>): void => {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
};

const commitAll = (dir: string, message: string, date: string): void => {
  gitSync(dir, ['add', '-A']);
  gitSync(dir, ['-c', `user.name=scripts`, '-c', 'user.email=scripts@example.invalid', 'commit', '-q', '--date', date, '-m', message]);
};

export interface LegacyRepository {
  remote: string;
  /** Every file path on main. */
  paths: string[];
  /** The older heartbeat branches and their tips. */
  heartbeatBranches: Record<string, string>;
}

/**
 * Builds the repository in `dir` and pushes it to a bare remote there: main with a few
 * months of history, `heartbeat/build1` (a branch of the whole repository, as upstream)
 * and `heartbeat/build2`, each with an older heartbeat.json and no metrics.jsonl.
 */
export const assembleLegacyRepository = (dir: string): LegacyRepository => {
  const remote = join(dir, 'Build.git');
  const work = join(dir, 'scripts-clone');
  gitSync(dir, ['init', '-q', '--bare', '-b', 'main', remote]);
  gitSync(dir, ['init', '-q', '-b', 'main', work]);
  // October: the initial store, as the seed scripts wrote it.
  writeTree(work, {
    'README.md': '# Build\n',
    'build1/status.json': fixture('63a3f9c4__build1__status.json'),
    'build1/heartbeat.json': fixture('63a3f9c4__build1__heartbeat.json'),
    'coordination/messages.json': fixture('63a3f9c4__coordination__messages.json'),
    'coordination/locks.json': fixture('63a3f9c4__coordination__locks.json'),
    'coordination/jobs.json': fixture('cc7e651d__coordination__jobs.json'),
    'shared/health_dashboard.json': fixture('63a3f9c4__shared__health_dashboard.json'),
    'shared/build_config.json': fixture('63a3f9c4__shared__build_config.json'),
  });
  commitAll(work, 'Initial coordination structure', '2025-10-29T14:54:00Z');
  const first = gitSync(work, ['rev-parse', 'HEAD']).trim();
  // November: the busiest messages.json main ever had.
  writeTree(work, { 'coordination/messages.json': fixture('7c5d633e__coordination__messages.json') });
  commitAll(work, 'Message from build1 to build2', '2025-11-04T02:57:00Z');
  // Today: everything.
  writeTree(work, finalTree());
  commitAll(work, 'Sync', '2025-11-21T09:00:00Z');
  gitSync(work, ['push', '-q', remote, 'main']);

  // heartbeat/build1: the enhanced heartbeat committed the whole tree to its own branch.
  gitSync(work, ['checkout', '-q', '-b', 'heartbeat/build1', first]);
  for (const [i, beat] of [fixture('63a3f9c4__build1__heartbeat.json'), fixture('a7c95387__build1__heartbeat.json')].entries()) {
    writeTree(work, { 'build1/heartbeat.json': beat, 'coordination/messages.json': fixture('0692f2c5__coordination__messages.json') });
    commitAll(work, `Heartbeat build1 ${i}`, `2025-11-13T0${i}:00:00Z`);
  }
  // heartbeat/build2: a shorter one, the agent-written heartbeat with no `healthy`.
  gitSync(work, ['checkout', '-q', '-b', 'heartbeat/build2', first]);
  writeTree(work, { 'build2/heartbeat.json': fixture('b6e41b11__build2__heartbeat.json') });
  commitAll(work, 'Heartbeat build2', '2025-11-05T13:32:00Z');
  gitSync(work, ['push', '-q', remote, 'heartbeat/build1', 'heartbeat/build2']);

  const paths = gitSync(remote, ['ls-tree', '-r', '--name-only', '-z', 'main']).split('\0').filter(Boolean);
  const tip = (branch: string) => gitSync(remote, ['rev-parse', branch]).trim();
  return { remote, paths, heartbeatBranches: { 'heartbeat/build1': tip('heartbeat/build1'), 'heartbeat/build2': tip('heartbeat/build2') } };
};
