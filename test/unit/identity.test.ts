import { describe, expect, it } from 'vitest';
import { resolveIdentity, type IdentityInputs } from '../../src/domain/identity.js';
import { buildctlErrorFrom } from '../helpers/errors.js';

const fleet = [
  { id: 'build1', host: 'build1.example.com' },
  { id: 'build2', host: 'BUILD2' },
  { id: 'build3', host: null },
  { id: 'build4' },
];
const base: IdentityInputs = { hostname: 'nowhere', builders: fleet };
const HINT = /--as ID.*BUILD_SERVER_ID.*\/etc\/build_server_id.*\.build_server_id/;

describe('resolveIdentity', () => {
  it.each([
    ['--as wins over everything', { flag: 'a', env: 'b', etcFile: 'c', storeFile: 'd', hostname: 'build1' }, 'a', '--as'],
    ['BUILD_SERVER_ID comes next', { env: 'b', etcFile: 'c', storeFile: 'd', hostname: 'build1' }, 'b', 'BUILD_SERVER_ID'],
    ['then /etc/build_server_id', { etcFile: 'c', storeFile: 'd', hostname: 'build1' }, 'c', '/etc/build_server_id'],
    ['then .build_server_id in the store', { storeFile: 'd', hostname: 'build1' }, 'd', '.build_server_id'],
    ['then the hostname', { hostname: 'build1.example.com' }, 'build1', 'hostname'],
    ['empty and blank sources are skipped', { flag: '', env: '  ', etcFile: '\n', storeFile: 'd' }, 'd', '.build_server_id'],
    ['values are trimmed (files end in a newline)', { etcFile: 'build7\n' }, 'build7', '/etc/build_server_id'],
  ] as Array<[string, Partial<IdentityInputs>, string, string]>)('%s', (_, inputs, id, source) => {
    expect(resolveIdentity({ ...base, ...inputs })).toEqual({ id, source });
  });

  it.each([
    ['the full name', 'build1.example.com', 'build1'],
    ['the short name against a full registered name', 'build1', 'build1'],
    ['another domain with the same short name', 'build1.lan', 'build1'],
    ['a different case', 'Build2.Example.Com', 'build2'],
  ])('matches the hostname by %s', (_, hostname, id) => {
    expect(resolveIdentity({ hostname, builders: fleet })).toEqual({ id, source: 'hostname' });
  });

  it.each([
    ['--as', { flag: 'Build1' }],
    ['BUILD_SERVER_ID', { env: 'build 1' }],
    ['/etc/build_server_id', { etcFile: '../etc' }],
    ['.build_server_id', { storeFile: 'x'.repeat(33) }],
  ] as Array<[string, Partial<IdentityInputs>]>)('an invalid id from %s is an error naming that source', (source, inputs) => {
    const error = buildctlErrorFrom(() => resolveIdentity({ ...base, ...inputs }));
    expect(error.code).toBe('invalid_builder_id');
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain(`invalid builder id from ${source} `);
  });

  it('does not fall through to a later source when an earlier one is invalid', () => {
    expect(buildctlErrorFrom(() => resolveIdentity({ ...base, env: 'BAD', storeFile: 'build1' })).message).toContain('from BUILD_SERVER_ID');
  });

  it.each([
    ['an unknown host', { hostname: 'laptop', builders: fleet }],
    ['an empty fleet', { hostname: 'build1', builders: [] }],
    ['builders without hosts', { hostname: 'build3', builders: [{ id: 'build3', host: null }, { id: 'build4', host: '' }] }],
  ])('no match (%s) is an error whose hint says how to set the id', (_, inputs) => {
    const error = buildctlErrorFrom(() => resolveIdentity(inputs));
    expect(error.code).toBe('unknown_identity');
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain(`host "${inputs.hostname}" is not in coordination/builders.json`);
    expect(error.hint).toMatch(HINT);
  });

  it('an ambiguous match is an error naming the candidates, whose hint says how to set the id', () => {
    const builders = [{ id: 'build1', host: 'ci.example.com' }, { id: 'build2', host: 'ci.lan' }];
    const error = buildctlErrorFrom(() => resolveIdentity({ hostname: 'ci', builders }));
    expect(error.code).toBe('unknown_identity');
    expect(error.message).toContain('matches build1, build2');
    expect(error.hint).toMatch(HINT);
  });
});
