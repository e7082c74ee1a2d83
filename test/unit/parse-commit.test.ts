// parseCommit decodes only a commit's headers: an unsigned commit's payload is its body as
// it is, a signed one's is the body without the signature header, and the message is the
// UTF-8 text after the first blank line (a heartbeat commit carries its files there).
import { describe, expect, it } from 'vitest';
import { parseCommit } from '../../src/store/objects.js';

const TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
const PARENT = 'a'.repeat(40);
const head = `tree ${TREE}\nparent ${PARENT}\nauthor a <a@x> 1700000000 +0000\ncommitter c <c@x> 1700000060 +0100\n`;
const SIG = ' -----BEGIN SSH SIGNATURE-----\n U1NIU0lH\n -----END SSH SIGNATURE-----\n';

describe('parseCommit', () => {
  it('an unsigned commit: its payload is its body, its message decoded as UTF-8', () => {
    const body = Buffer.from(`${head}\nheartbeat bü1\n\nbü1/heartbeat.json 2\n{}`, 'utf8');
    const parsed = parseCommit(body);
    expect(parsed).toMatchObject({ tree: TREE, parents: [PARENT], time: 1700000060, message: 'heartbeat bü1\n\nbü1/heartbeat.json 2\n{}', signature: undefined });
    expect(parsed.payload.equals(body)).toBe(true);
  });

  it('a signed commit: the payload leaves out the signature header and its continuation lines, nothing else', () => {
    const body = Buffer.from(`tree ${TREE}\nparent ${PARENT}\nauthor a <a@x> 1700000000 +0000\ncommitter c <c@x> 1700000060 +0100\ngpgsig${SIG.replace(/^ /, ' ')}\nsubject\n\nBuildctl-Op: x\n`, 'utf8');
    const parsed = parseCommit(body);
    expect(parsed.signature).toBe('-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n');
    expect(parsed.payload.toString('utf8')).toBe(`${head}\nsubject\n\nBuildctl-Op: x\n`);
    expect(parsed.message).toBe('subject\n\nBuildctl-Op: x\n');
  });

  it('a commit without a message: no message, its header lines as the payload', () => {
    const parsed = parseCommit(Buffer.from(head.trimEnd(), 'latin1'));
    expect(parsed.message).toBe('');
    expect(parsed.tree).toBe(TREE);
    expect(parsed.payload.toString('latin1')).toBe(head.split('\n').slice(0, 3).map((l) => `${l}\n`).join(''));
  });
});
