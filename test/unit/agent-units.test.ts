// The text `agent install` writes, against the rules of the programs that read it: cron's
// `%` handling, sh quoting, systemd's Environment= and ExecStart= quoting.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { asCronRunsIt } from '../helpers/cron.js';
import { cronLine, cronMarker, defaultLogFile, environmentQuote, execQuote, unitFile, withCronLine, type AgentCommand } from '../../src/domain/agent-units.js';

const command = (over: Partial<AgentCommand> = {}): AgentCommand => ({
  storeDir: '/srv/store',
  logFile: '/srv/store.agent.log',
  env: [],
  argv: ['/usr/bin/node', '/opt/buildctl/dist/cli.js', '--store', '/srv/store', 'agent'],
  ...over,
});

/**
 * Runs, as cron would (its command through /bin/sh), the crontab line for a store under a
 * temporary directory whose name holds `odd`, with a stand-in for node that writes
 * BUILDCTL_ID_FILE and its arguments, one a line, to standard output, which the line
 * appends to the log file. Returns the store path and those lines.
 */
const runAsCron = (odd: string): { store: string; lines: string[] } => {
  const root = mkdtempSync(join(tmpdir(), 'buildctl-cron-'));
  try {
    const fakeNode = join(root, 'node');
    writeFileSync(fakeNode, `#!/bin/sh\nprintf '%s\\n' "$BUILDCTL_ID_FILE" "$@"\n`);
    chmodSync(fakeNode, 0o755);
    const store = join(root, `a${odd}b`, 'store');
    mkdirSync(join(root, `a${odd}b`));
    const line = cronLine({ storeDir: store, logFile: defaultLogFile(store), env: [['BUILDCTL_ID_FILE', `${store}/id`]], argv: [fakeNode, '/cli.js', '--store', store, 'agent'] });
    const run = spawnSync('/bin/sh', ['-c', asCronRunsIt(line)], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
    expect(run.status, run.stderr).toBe(0);
    return { store, lines: readFileSync(defaultLogFile(store), 'utf8').split('\n').filter((w) => w !== '') };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
};

describe('cronLine', () => {
  it('runs the agent every minute, ticking when the schedule selects the minute, logging per store', () => {
    expect(cronLine(command())).toBe(
      "* * * * * '/usr/bin/node' '/opt/buildctl/dist/cli.js' --store '/srv/store' agent --once --if-scheduled --log-file '/srv/store.agent.log' >>'/srv/store.agent.log' 2>&1 # buildctl-agent /srv/store",
    );
  });

  it.each([
    ['a %', '%'],
    ['a \\%', '\\%'],
    ['a }', '}'],
    ['quotes and $', "'s $HOME"],
  ])('passes a store path with %s through cron and sh unchanged', (_what, odd) => {
    const { store, lines } = runAsCron(odd);
    expect(lines).toEqual([`${store}/id`, '/cli.js', '--store', store, 'agent', '--once', '--if-scheduled', '--log-file', `${store}.agent.log`]);
  });

  it('keeps an earlier line with the same marker replaceable', () => {
    const store = '/srv/50%/store';
    const line = cronLine(command({ storeDir: store }));
    const replaced = withCronLine(`MAILTO=""\n${line}\n`, line, store);
    expect(replaced).toEqual({ content: `MAILTO=""\n${line}\n`, replaced: 1 });
    expect(line.endsWith(cronMarker(store).replace(/%/g, '\\%'))).toBe(true);
  });
});

describe('unitFile', () => {
  it('quotes Environment= without doubling $ (it expands nothing) and ExecStart= with $$ and %%', () => {
    const text = unitFile(command({ storeDir: '/srv/$x%y', env: [['BUILDCTL_ID_FILE', '/etc/id$1 "q" \\b%c']], argv: ['/usr/bin/node', '/cli.js', '--store', '/srv/$x%y', 'agent'] }), 'ci');
    expect(text).toContain('Environment="BUILDCTL_ID_FILE=/etc/id$1 \\"q\\" \\\\b%%c"\n');
    expect(text).toContain('ExecStart="/usr/bin/node" "/cli.js" "--store" "/srv/$$x%%y" "agent" "--log-file" "/srv/store.agent.log"\n');
    expect(environmentQuote('A', '$B')).toBe('"A=$B"');
    expect(execQuote('$B')).toBe('"$$B"');
  });
});

describe('defaultLogFile', () => {
  it('is one per store, never shared by stores in one folder', () => {
    expect(defaultLogFile('/home/ci/.buildctl/store')).toBe('/home/ci/.buildctl/store.agent.log');
    expect(defaultLogFile('/home/ci/.buildctl/other/')).toBe('/home/ci/.buildctl/other.agent.log');
  });
});
