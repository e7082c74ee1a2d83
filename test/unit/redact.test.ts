import { describe, expect, it } from 'vitest';
import { findUrlCredentials, redactCredentials } from '../../src/redact.js';

const token = `ghp_${'Ab3dE6gH9j'.repeat(3)}K1mN2p`;

describe('redactCredentials: what buildctl prints never holds a URL\'s password or token', () => {
  it.each([
    ['https://user:s3cret@git.example.com/org/fleet.git', 'https://user:***@git.example.com/org/fleet.git'],
    ['https://admin:p@ssw0rd@db.example.com', 'https://admin:***@db.example.com'],
    ['redis://:pw@cache:6379/0', 'redis://:***@cache:6379/0'],
    [`https://${token}@github.com/org/repo.git`, 'https://***@github.com/org/repo.git'],
    [`https://x-access-token:${token}@github.com/org/repo.git`, 'https://x-access-token:***@github.com/org/repo.git'],
    ["cannot clone http://ci:TOKEN123@127.0.0.1:9/x.git: unable to access 'http://127.0.0.1:9/x.git/'", "cannot clone http://ci:***@127.0.0.1:9/x.git: unable to access 'http://127.0.0.1:9/x.git/'"],
    ['{"remote":"https://u:p4ss@h/x.git","store":"/srv/s"}', '{"remote":"https://u:***@h/x.git","store":"/srv/s"}'],
    ['a https://a:1@h1 and b ftp://b:2@h2/x', 'a https://a:***@h1 and b ftp://b:***@h2/x'],
  ])('%s', (text, shown) => {
    expect(redactCredentials(text)).toBe(shown);
  });

  it.each([
    'ssh://git@git.example.com:2222/fleet.git',
    'git@github.com:org/repo.git',
    'https://build-bot@dev.azure.com/org/project/_git/repo',
    'https://git.example.com/a:b@c',
    'http://localhost:5173/@vite/client',
    '/srv/buildctl/store.git',
    'https://user:@host/x',
  ])('leaves %s as it is', (text) => {
    expect(redactCredentials(text)).toBe(text);
  });

  it('finds the host after the last @ of the authority', () => {
    expect(findUrlCredentials('mysql://root:a@b:c@db.internal:3306/app')).toEqual([
      { start: 13, end: 18, user: 'root', host: 'db.internal:3306', password: 'a@b:c' },
    ]);
  });
});
