import { describe, expect, it } from 'vitest';
import { checkBuilderId, RESERVED_IDS } from '../../src/domain/ids.js';
import { buildctlErrorFrom } from '../helpers/errors.js';

describe('checkBuilderId', () => {
  it.each(['build1', 'b', 'build-server-2', 'a-', 'x'.repeat(32), 'mac-mini-m2-03'])('accepts %j and returns it', (id) => {
    expect(checkBuilderId(id)).toBe(id);
  });

  it.each([
    ['', 'it is empty'],
    ['x'.repeat(33), 'it has 33 characters (at most 32)'],
    ['Build1', 'it has upper-case letters'],
    ['BUILD', 'it has upper-case letters'],
    ['1build', 'it does not start with a lowercase letter'],
    ['-build', 'it does not start with a lowercase letter'],
    ['..', 'it does not start with a lowercase letter'],
    ['/etc', 'it does not start with a lowercase letter'],
    ['build/1', 'it has characters other than a-z, 0-9 and "-"'],
    ['build..', 'it has characters other than a-z, 0-9 and "-"'],
    ['build 1', 'it has characters other than a-z, 0-9 and "-"'],
    ['build_1', 'it has characters other than a-z, 0-9 and "-"'],
    ['build1\n', 'it has characters other than a-z, 0-9 and "-"'],
  ])('refuses %j: %s', (id, reason) => {
    const error = buildctlErrorFrom(() => checkBuilderId(id));
    expect(error.code).toBe('invalid_builder_id');
    expect(error.exitCode).toBe(2);
    expect(error.message).toBe(`invalid builder id ${JSON.stringify(id)}: ${reason}`);
    expect(error.hint).toMatch(/lowercase letter.*at most 32/);
  });

  it('names what the id was for', () => {
    expect(buildctlErrorFrom(() => checkBuilderId('X', 'target')).message).toBe('invalid target "X": it has upper-case letters');
  });

  it('reserves "all", which is a valid id in form', () => {
    expect(RESERVED_IDS.has('all')).toBe(true);
    expect(checkBuilderId('all')).toBe('all');
  });
});
