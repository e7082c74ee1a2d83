import { describe, expect, it } from 'vitest';
import { BLOCK_BEGIN, BLOCK_END, buildGuide, renderGuide, withMarkedBlock } from '../../src/domain/guide.js';
import { TOOLS } from '../../src/cli/mcp/tools.js';

const guide = (over: Partial<Parameters<typeof buildGuide>[0]> = {}) =>
  buildGuide({ builder: 'build1', store: '/srv/fleet store', storeFlag: false, asFlag: false, ...over });

describe('buildGuide', () => {
  it('names the store and the identity only where a fresh shell would not find them', () => {
    expect(guide().buildctl).toBe('buildctl');
    expect(guide({ storeFlag: true }).buildctl).toBe("buildctl --store '/srv/fleet store'");
    expect(guide({ storeFlag: true, asFlag: true, store: '/srv/store' }).buildctl).toBe('buildctl --store /srv/store --as build1');
    const commands = guide({ asFlag: true }).sections.flatMap((s) => s.steps.flatMap((step) => step.commands));
    for (const command of commands) expect(command).toMatch(/^(buildctl|sm) --as build1 /);
  });

  it('covers the session: start (status, mail, held locks, my job), working (claim, lock run, progress), end (finish, release, idle)', () => {
    const ids = guide().sections.map((s) => [s.id, s.steps.map((step) => step.id)]);
    expect(ids).toEqual([
      ['start', ['fleet', 'mail', 'ack', 'locks', 'job']],
      ['working', ['claim', 'lock', 'progress']],
      ['end', ['finish', 'release', 'idle']],
    ]);
    const all = guide().sections.flatMap((s) => s.steps.flatMap((step) => step.commands)).join('\n');
    for (const command of ['buildctl status', 'buildctl msg list', 'buildctl lock list', 'buildctl job list --status running', 'buildctl job claim', 'buildctl lock run NAME', 'buildctl job complete JOB', 'buildctl job fail JOB', 'buildctl lock release NAME', 'buildctl status set idle']) {
      expect(all).toContain(command);
    }
  });

  it('names only tools the MCP server has', () => {
    const names = new Set(TOOLS.map((t) => t.name));
    for (const step of guide().sections.flatMap((s) => s.steps)) for (const tool of step.tools) expect(names.has(tool), tool).toBe(true);
  });

  it('lists what a session never does on its own', () => {
    expect(guide().never.map((n) => n.command)).toEqual(expect.arrayContaining(['buildctl lock break', 'buildctl builder remove', 'buildctl config set', 'buildctl migrate']));
  });
});

describe('renderGuide', () => {
  it('is Markdown with numbered steps, each command and its tools', () => {
    const text = renderGuide(guide({ asFlag: true }));
    expect(text).toMatch(/^## buildctl session checklist for build1\n/);
    expect(text).toContain('### At the start of a session\n\n1. See the fleet');
    expect(text).toContain('   - `buildctl --as build1 status`\n   - MCP: `fleet_status`\n');
    expect(text).toContain('11. Set build1 idle');
    expect(text.endsWith('\n')).toBe(true);
  });
});

describe('withMarkedBlock', () => {
  const block = 'the checklist\n';
  const marked = `${BLOCK_BEGIN}\n${block}${BLOCK_END}\n`;

  it('makes a new file hold just the block, and appends it to a file without one', () => {
    expect(withMarkedBlock('', block, 'AGENTS.md')).toBe(marked);
    expect(withMarkedBlock('# My project\n\nBuild with make.', block, 'AGENTS.md')).toBe(`# My project\n\nBuild with make.\n\n${marked}`);
  });

  it('replaces the block where it is, and keeps everything around it', () => {
    const before = `# Mine\n\n${BLOCK_BEGIN}\nan older checklist\nof two lines\n${BLOCK_END}\n\n## After\nkeep me\n`;
    const after = withMarkedBlock(before, block, 'AGENTS.md');
    expect(after).toBe(`# Mine\n\n${marked}\n## After\nkeep me\n`);
    expect(withMarkedBlock(after, block, 'AGENTS.md')).toBe(after);
  });

  it('finds a block whose begin marker has other words after its name', () => {
    const before = `<!-- buildctl guide: begin (an older wording) -->\nold\n${BLOCK_END}\n`;
    expect(withMarkedBlock(before, block, 'AGENTS.md')).toBe(marked);
  });

  it('refuses a block whose end marker is gone rather than guess where it ended', () => {
    expect(() => withMarkedBlock(`${BLOCK_BEGIN}\nold\n# someone's notes\n`, block, '/w/AGENTS.md')).toThrow(/has the begin marker of the buildctl block but not its end marker/);
  });
});
