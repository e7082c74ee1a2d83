// `buildctl guide`: the checklist a session on a builder follows, whoever runs it (an AI
// coding agent in a terminal, or a new human operator): what to look at first, how to
// work, how to leave. Every step names the exact command for this builder's identity and
// store, and the MCP tool (`buildctl mcp`) that does the same.
import { usageError } from '../errors.js';
import { shWord } from './shell.js';

export interface GuideStep {
  id: string;
  /** What to do and why, in one sentence. */
  title: string;
  /** The exact command lines (placeholders in capitals: ID, JOB, NAME). */
  commands: string[];
  /** The MCP tools that do the same. */
  tools: string[];
  note: string | null;
}

export interface GuideSection {
  id: 'start' | 'working' | 'end';
  title: string;
  steps: GuideStep[];
}

export interface Guide {
  builder: string;
  store: string;
  /** What every command starts with: `buildctl` and the global options this builder needs. */
  buildctl: string;
  sections: GuideSection[];
  /** What a session never does on its own: operators' commands. */
  never: Array<{ command: string; why: string }>;
}

export interface GuideInput {
  builder: string;
  /** The store's absolute path. */
  store: string;
  /** Whether a fresh shell would not find this store by default (then commands name it). */
  storeFlag: boolean;
  /** Whether a fresh shell would not find this identity (it came from --as or BUILD_SERVER_ID). */
  asFlag: boolean;
}

const step = (id: string, title: string, commands: string[], tools: string[], note: string | null = null): GuideStep => ({ id, title, commands, tools, note });

export const buildGuide = (input: GuideInput): Guide => {
  const globals = [...(input.storeFlag ? ['--store', shWord(input.store)] : []), ...(input.asFlag ? ['--as', input.builder] : [])].join(' ');
  const bc = (args: string) => `buildctl${globals ? ` ${globals}` : ''} ${args}`;
  const sm = (args: string) => `sm${globals ? ` ${globals}` : ''} ${args}`;
  const me = input.builder;
  return {
    builder: me,
    store: input.store,
    buildctl: globals ? `buildctl ${globals}` : 'buildctl',
    sections: [
      {
        id: 'start',
        title: 'At the start of a session',
        steps: [
          step('fleet', 'See the fleet: who is healthy, what runs where, which locks are held, your unread mail.', [bc('status')], ['fleet_status']),
          step('mail', 'Read your unread mail, most urgent first, with the bodies; open a whole thread when a message answers another.', [bc('msg list'), bc('msg show MSG')], ['inbox', 'message_show']),
          step(
            'ack',
            'Acknowledge each message that asks for it once you have acted on it; mark the rest read.',
            [bc('msg ack MSG --note "what you did"'), bc('msg read --all')],
            ['msg_ack', 'msg_read'],
            `"ack required" messages stay on the sender's list until ${me} acknowledges them.`,
          ),
          step('locks', `Find the locks ${me} holds (HOLDER ${me}): finish what they guard, or release them.`, [bc('lock list')], ['lock_list'], 'A lock left behind blocks every other builder until it expires.'),
          step(
            'job',
            `Find ${me}'s running job (ON ${me}): resume it, or complete or fail it before taking another.`,
            [bc('job list --status running')],
            ['job_list'],
          ),
        ],
      },
      {
        id: 'working',
        title: 'While working',
        steps: [
          step(
            'claim',
            `Take the most urgent job ${me} may run; this marks ${me} building it. Or let job run claim one, run a command for it and complete or fail it by the exit code.`,
            [bc('job claim'), bc('job run -- COMMAND ARGS...')],
            ['job_claim'],
            'Exit 3 (nothing_to_claim): there is nothing for this builder now; do not retry in a tight loop.',
          ),
          step(
            'lock',
            'Hold a lock around work on a shared resource (a deploy, a release, a shared cache): it waits for the lock, renews it while the command runs and releases it after.',
            [bc('lock run NAME --ttl 1m --wait 5m -- COMMAND ARGS...')],
            ['lock_acquire', 'lock_renew', 'lock_release'],
            'With the tools, renew before the TTL runs out, and release when done; the fencing token tells a protected resource which holder is current.',
          ),
          step(
            'progress',
            'Tell the others what you are doing: progress, questions, warnings; --ack when you need an answer.',
            [sm('ID "build of JOB: tests pass, packaging"'), bc('msg send ID "..." --type request --ack')],
            ['msg_send'],
            'Never put a password or token in a message: it is refused, and git history would keep it forever.',
          ),
        ],
      },
      {
        id: 'end',
        title: 'At the end of a session',
        steps: [
          step('finish', 'Complete your job with what it produced, or fail it with the reason.', [bc('job complete JOB --artifact PATH'), bc('job fail JOB --reason "what went wrong"')], ['job_complete', 'job_fail']),
          step('release', 'Release every lock you still hold.', [bc('lock release NAME')], ['lock_release']),
          step('idle', `Set ${me} idle, so the fleet sees it is free.`, [bc('status set idle')], ['status_set']),
        ],
      },
    ],
    never: [
      { command: 'buildctl lock break', why: "forces another builder's lock free: an operator's decision, with a reason" },
      { command: 'buildctl builder remove', why: 'changes the fleet' },
      { command: 'buildctl config set', why: "changes every builder's settings" },
      { command: 'buildctl migrate', why: 'rewrites the store' },
      { command: '--force', why: "finishes another builder's job" },
      { command: '--allow-secret-like', why: 'commits what looks like a credential, and git history keeps it' },
      { command: 'git commit', why: 'or git push, in the store: it is changed only through buildctl, which validates every document' },
    ],
  };
};

/** The checklist as Markdown: what `buildctl guide` prints and the AGENTS.md block holds. */
export const renderGuide = (guide: Guide): string => {
  const lines = [
    `## buildctl session checklist for ${guide.builder}`,
    '',
    `This host is builder \`${guide.builder}\` of a build fleet coordinated with buildctl (store \`${guide.store}\`).`,
    `Follow this checklist in every session here. The commands act as ${guide.builder} on that store;`,
    'with the MCP server (`buildctl mcp`) the tools named do the same. Add `--json` to any command for',
    'machine-readable output. Exit codes: 0 done, 2 bad input, 3 not now (held, nothing to claim), 4 remote unreachable.',
  ];
  let n = 0;
  for (const section of guide.sections) {
    lines.push('', `### ${section.title}`, '');
    for (const s of section.steps) {
      n++;
      lines.push(`${n}. ${s.title}`);
      for (const command of s.commands) lines.push(`   - \`${command}\``);
      lines.push(`   - MCP: ${s.tools.map((t) => `\`${t}\``).join(', ')}`);
      if (s.note) lines.push(`   - ${s.note}`);
    }
  }
  lines.push('', '### Never, without a human operator', '');
  for (const item of guide.never) lines.push(`- \`${item.command}\`: ${item.why}.`);
  return `${lines.join('\n')}\n`;
};

export const BLOCK_BEGIN = '<!-- buildctl guide: begin (written by "buildctl guide --agents-md"; this block is replaced on every run) -->';
export const BLOCK_END = '<!-- buildctl guide: end -->';

/**
 * `text` (a file's content, '' when there is none) with the marked block set to `block`:
 * an existing block is replaced where it is, else the block is appended; everything
 * outside the markers stays as it was.
 */
export const withMarkedBlock = (text: string, block: string, file: string): string => {
  const marked = `${BLOCK_BEGIN}\n${block.endsWith('\n') ? block : `${block}\n`}${BLOCK_END}\n`;
  // Found by its start, so a block written with other words in the parenthesis is found too.
  const begin = text.indexOf(BLOCK_BEGIN.slice(0, BLOCK_BEGIN.indexOf('(')));
  const end = begin < 0 ? -1 : text.indexOf(BLOCK_END, begin);
  if (begin >= 0 && end < 0) {
    // Where the block ends is unknown: replacing to the end of the file could take someone's text.
    throw usageError(`${file} has the begin marker of the buildctl block but not its end marker`, {
      code: 'broken_marked_block',
      hint: `put back the line ${BLOCK_END} after the block (or delete the block), then run this again`,
    });
  }
  if (begin >= 0) {
    const after = text.slice(end + BLOCK_END.length).replace(/^\n/, '');
    return `${text.slice(0, begin)}${marked}${after}`;
  }
  if (text === '') return marked;
  return `${text.replace(/\n*$/, '\n')}\n${marked}`;
};
