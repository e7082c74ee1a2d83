import { describe, expect, it } from 'vitest';
import { BuildctlError } from '../../src/errors.js';
import { environmentFault, faultInGitOutput } from '../../src/faults.js';

const errno = (code: string, extra: Record<string, string> = {}) => Object.assign(new Error(`${code}: something`), { code, ...extra });

describe('environmentFault', () => {
  it.each([
    ['ENOSPC', 'disk_full', /no space left/],
    ['EDQUOT', 'disk_full', /no space left/],
    ['EROFS', 'read_only_store', /read-only/],
    ['EACCES', 'permission_denied', /permission denied/],
  ])('%s is %s, exit 1, with a hint', (code, expected, words) => {
    const fault = environmentFault(errno(code, { syscall: 'open', path: '/store/.git/buildctl/last-fetch' }));
    expect(fault).toMatchObject({ code: expected, exitCode: 1 });
    expect(fault?.message).toMatch(words);
    expect(fault?.message).toContain('/store/.git/buildctl/last-fetch');
    expect(fault?.hint).toBeTruthy();
  });

  it('a missing git binary, also as the cause of another error', () => {
    const spawnError = errno('ENOENT', { syscall: 'spawn git', path: 'git' });
    expect(environmentFault(spawnError)).toMatchObject({ code: 'git_missing', exitCode: 1 });
    expect(environmentFault(new Error('wrapped', { cause: spawnError }))).toMatchObject({ code: 'git_missing' });
  });

  it('leaves other errors and known ones alone', () => {
    expect(environmentFault(errno('ENOENT', { syscall: 'open', path: '/x' }))).toBeUndefined();
    expect(environmentFault(new Error('a bug'))).toBeUndefined();
    expect(environmentFault(new BuildctlError('failed', 'known', { code: 'x' }))).toBeUndefined();
  });
});

describe('faultInGitOutput', () => {
  it('a local full disk is exit 1, the remote\'s is exit 4', () => {
    expect(faultInGitOutput("fatal: sha1 file '.git/objects/pack/tmp_pack_x' write error. Out of diskspace\n", '/store')).toMatchObject({ code: 'disk_full', exitCode: 1 });
    expect(faultInGitOutput('error: unable to create temporary file: No space left on device\n', '/store')).toMatchObject({ code: 'disk_full', exitCode: 1 });
    expect(faultInGitOutput('remote: error: unable to create temporary file: No space left on device\n', '/store')).toMatchObject({ code: 'remote_disk_full', exitCode: 4 });
  });

  it('ssh refusing a key is the remote refusing us, not a file permission', () => {
    expect(faultInGitOutput('git@host: Permission denied (publickey).\nfatal: Could not read from remote repository.\n', '/store')).toBeUndefined();
    expect(faultInGitOutput("error: insufficient permission for adding an object to repository database .git/objects\n", '/store')).toMatchObject({ code: 'permission_denied' });
  });
});
