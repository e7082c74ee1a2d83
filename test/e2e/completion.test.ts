// `buildctl completion bash|zsh|fish`: the scripts name every command, subcommand and
// option that --help shows (read here from the CLI's own help, command by command), and
// the bash one completes in a real bash.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, runProcess, tempDir } from '../helpers/fleet.js';

interface HelpNode {
  path: string[];
  options: string[];
  subcommands: string[];
}

/** Entries of a help section ("Options:", "Commands:"): lines indented by exactly two spaces. */
const section = (help: string, title: string): string[] => {
  const start = help.indexOf(`\n${title}\n`);
  if (start < 0) return [];
  const lines: string[] = [];
  for (const line of help.slice(start + title.length + 2).split('\n')) {
    if (line.trim() === '' || !line.startsWith(' ')) break;
    if (/^ {2}\S/.test(line)) lines.push(line.trim());
  }
  return lines;
};

const helpOf = async (path: string[], bin?: string): Promise<HelpNode> => {
  const run = await runCli([...path, '--help'], bin ? { bin } : {});
  expect(run.code).toBe(0);
  const options = section(run.stdout, 'Options:').flatMap((entry) => (entry.split(/ {2,}/)[0] ?? '').split(/[ ,]+/).filter((w) => /^-{1,2}[\w-]+$/.test(w)));
  const subcommands = section(run.stdout, 'Commands:').map((entry) => entry.split(' ')[0] ?? '').filter((name) => name !== 'help');
  return { path, options, subcommands };
};

const walkHelp = async (path: string[] = []): Promise<HelpNode[]> => {
  const node = await helpOf(path);
  const below = await Promise.all(node.subcommands.map((name) => walkHelp([...path, name])));
  return [node, ...below.flat()];
};

let tree: HelpNode[];
let scripts: Record<string, string>;
let dir: { dir: string; cleanup: () => void };
beforeAll(async () => {
  tree = await walkHelp();
  scripts = {};
  for (const shell of ['bash', 'zsh', 'fish']) {
    const run = await runCli(['completion', shell]);
    expect(run.code).toBe(0);
    scripts[shell] = run.stdout;
  }
  dir = tempDir();
});
afterAll(() => dir.cleanup());

describe('buildctl completion', () => {
  it('the help walk found the whole tree (a sanity check of this test)', () => {
    expect(tree.length).toBeGreaterThan(40);
    expect(tree.find((n) => n.path.join(' ') === 'lock break')?.options).toEqual(expect.arrayContaining(['--reason', '--json', '--help']));
    expect(tree.find((n) => n.path.length === 0)?.subcommands).toEqual(expect.arrayContaining(['check', 'metrics', 'log', 'completion', 'job', 'msg']));
  });

  it.each(['bash', 'zsh', 'fish'])('%s names every command, subcommand and option', (shell) => {
    const script = scripts[shell]!;
    for (const node of tree) {
      for (const sub of node.subcommands) expect(script, `${shell}: ${[...node.path, sub].join(' ')}`).toMatch(new RegExp(`\\b${sub}\\b`));
      for (const option of node.options) expect(script, `${shell}: ${node.path.join(' ')} ${option}`).toContain(shell === 'fish' ? (option.startsWith('--') ? `-l ${option.slice(2)}` : `-s ${option.slice(1)}`) : option);
    }
  });

  it('bash: the table lists each command with exactly the options its --help shows', () => {
    const script = scripts.bash!;
    for (const node of tree) {
      const key = ['buildctl', ...node.path].join(' ');
      const row = new RegExp(`^ {4}'${key}'\\) echo '([^']*)' ;;$`, 'm').exec(script.slice(script.indexOf('_buildctl_options()')));
      expect(row, key).not.toBeNull();
      expect(row![1]!.split(' ').sort()).toEqual([...node.options].filter((o) => o !== '-V').sort());
    }
  });

  const complete = async (words: string[]): Promise<string[]> => {
    const file = join(dir.dir, 'buildctl.bash');
    writeFileSync(file, scripts.bash!);
    const array = words.map((w) => `'${w}'`).join(' ');
    const run = await runProcess('bash', ['--norc', '--noprofile', '-c', `source "${file}" && complete -p buildctl sm sendmessages && COMP_WORDS=(${array}) && COMP_CWORD=${words.length - 1} && _buildctl && printf '%s\\n' "\${COMPREPLY[@]}"`], {
      cwd: dir.dir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const [c1, c2, c3, ...replies] = run.stdout.split('\n');
    expect([c1, c2, c3]).toEqual(['complete -F _buildctl buildctl', 'complete -F _sm sm', 'complete -F _sm sendmessages']);
    return replies.filter(Boolean);
  };

  it.each([
    [['buildctl', 'jo'], ['job']],
    [['buildctl', ''], ['init', 'builder', 'status', 'heartbeat', 'job', 'lock', 'msg', 'config', 'validate', 'migrate', 'hooks', 'agent', 'outbox', 'check', 'metrics', 'log', 'trust', 'gc', 'notify', 'serve', 'guide', 'mcp', 'completion']],
    [['buildctl', 'lock', 'b'], ['break']],
    [['buildctl', '--store', '/srv/store', '--as', 'build1', 'lock', 'b'], ['break']], // global options and their values are skipped
    [['buildctl', 'lock', 'break', 'deploy', '--re'], ['--reason']],
    [['buildctl', 'msg', 'list', '--ar'], ['--archived']],
    [['buildctl', 'msg', 'list', '--st'], ['--store']], // a global option anywhere
    [['buildctl', 'job', 'add', '--type', ''], []], // a value: nothing of ours
    [['buildctl', 'completion', ''], ['bash', 'zsh', 'fish']],
    [['buildctl', 'status', '-'], ['--no-fetch', '--watch', '--interval', '--json', '-h', '--help', '-v', '--version', '--store', '--as', '--debug', '--allow-secret-like']],
  ])('bash completes %j to %j', async (words, expected) => {
    expect(await complete(words)).toEqual(expected);
  });
});
