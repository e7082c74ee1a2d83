import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findCredential } from '../../src/domain/secrets.js';

describe('findCredential: values assigned to secret names', () => {
  it.each([
    ['password: hunter2', 'password'],
    ['Password = s3cr3t!', 'Password'],
    ['API_KEY=abcd1234efgh', 'API_KEY'],
    ['"token": "abc123..."', 'token'],
    ['export DB_PASSWORD="Zz9!aa"', 'DB_PASSWORD'],
    ['passwd: letmein', 'passwd'],
    ['client_secret: 9f8e7d6c', 'client_secret'],
    ['AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG', 'AWS_SECRET_ACCESS_KEY'],
    ['API key: 12345678', 'API key'],
    ['apiKey: "k-123456"', 'apiKey'],
    ['**Password:** hunter22', 'Password'],
    ['curl https://host/hook?token=deadbeef42', 'token'],
    ['jira:\n  user: codex\n  password: p@ss', 'password'],
  ])('recognises %j', (text, name) => {
    const found = findCredential(text);
    expect(found?.kind).toBe(`a value assigned to ${name}`);
  });

  it('says which line, counting literal \\n sequences as line breaks', () => {
    expect(findCredential('update\nuser: codex\nPassword: hunter2\nbye')).toEqual({ kind: 'a value assigned to Password', where: 'line 3' });
    expect(findCredential('update\\nuser: codex\\nPassword: hunter2\\nbye')).toEqual({ kind: 'a value assigned to Password', where: 'line 3' });
  });

  it('never echoes the value', () => {
    const found = findCredential('password: hunter2');
    expect(JSON.stringify(found)).not.toContain('hunter2');
  });
});

describe('findCredential: known token formats and key blocks', () => {
  it.each([
    [`use ghp_${'A1b2C3d4E5'.repeat(4)} for the API`, 'GitHub token'],
    [`gho_${'x1Y2z3'.repeat(6)}`, 'GitHub token'],
    [`ghs_${'Q'.repeat(36)}`, 'GitHub token'],
    [`github_pat_11ABCDEFG0_${'a1'.repeat(30)}`, 'GitHub token'],
    ['clone with glpat-AbCdEfGhIjKlMnOpQrSt', 'GitLab token'],
    ['slack: xoxb-123456789012-abcdefABCDEF', 'Slack token'],
    ['xoxp-1234567890-0987654321', 'Slack token'],
    ['key id AKIAIOSFODNN7EXAMPLE', 'AWS access key id'],
    ['ASIAABCDEFGHIJKLMNOP was issued', 'AWS access key id'],
    ['-----BEGIN RSA PRIVATE KEY-----\nMIIEow...', 'private key'],
    ['-----BEGIN OPENSSH PRIVATE KEY-----', 'private key'],
    ['-----BEGIN PRIVATE KEY-----', 'private key'],
    ['git clone https://deploy:Xk29fQ7mP@git.example.com/repo.git', 'a password in a URL'],
    ['DATABASE_URL postgres://app:hunter22@db.internal:5432/app', 'a password in a URL'],
  ])('recognises %j as a %s', (text, kind) => {
    expect(findCredential(text)?.kind).toBe(kind);
  });
});

describe('findCredential: mentions are fine', () => {
  it.each([
    'clone https://user:pass@git.example.com/repo.git (your own user and password)',
    'postgres://app:${DB_PASSWORD}@db:5432/app',
    'https://ci:<token>@git.example.com',
    'https://git.example.com/a:b@c is not a credential',
    'ssh://git@git.example.com:2222/repo.git',
    'http://localhost:8080/status',
    'the password file on each builder',
    'reset your password',
    'token expired',
    'Token: expired',
    "jwt_token='...'",
    'token = "…"',
    'password: <your password>',
    'token: <token>',
    'api key: ***',
    'secret = xxx',
    'password: ${DB_PASS}',
    'password=$DB_PASS',
    'password: %JIRA_PASSWORD%',
    'token: {{ vault.token }}',
    'token: process.env.GITHUB_TOKEN',
    'password_file = /etc/jira/pw',
    'Password: see the vault',
    'password: none',
    'secret: null',
    'Secrets:',
    'JWT: HS256 (env BROKER_JWT_SECRET), RS256 later',
    'Auth rules: API/scripts use API token; Web UI uses a local password file',
    'ghp_ tokens are GitHub personal access tokens',
    'AKIA prefixes mark AWS access keys',
    'PRIVATE KEY blocks must not be committed',
    'tokens: 5',
    'max_tokens=4096 is a setting, not a secret', // the name must END in the secret word
  ])('%j', (text) => {
    expect(findCredential(text)).toBeUndefined();
  });
});

// ---- the upstream corpus ------------------------------------------------------------

const FIXTURES = resolve(import.meta.dirname, '../../../shared/fixtures/upstream');
const present = existsSync(FIXTURES);
if (!present) console.warn(`secrets.test.ts: ${FIXTURES} is absent; skipping the upstream message corpus`);

interface CorpusMessage {
  file: string;
  id: string;
  subject?: unknown;
  body?: unknown;
}

/** Every message-like object (an id with a subject or body), wherever it sits in the file. */
const collect = (value: unknown, file: string, out: CorpusMessage[]): void => {
  if (Array.isArray(value)) {
    for (const item of value) collect(item, file, out);
  } else if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    if (typeof record.id === 'string' && ('body' in record || 'subject' in record)) {
      out.push({ file, id: record.id, subject: record.subject, body: record.body });
    } else {
      for (const child of Object.values(record)) collect(child, file, out);
    }
  }
};

const loadCorpus = (): { messages: CorpusMessage[]; parsed: string[]; skipped: string[] } => {
  const messages: CorpusMessage[] = [];
  const parsed: string[] = [];
  const skipped: string[] = [];
  for (const file of readdirSync(FIXTURES).filter((f) => f.includes('messages') && f.endsWith('.json')).sort()) {
    let data: unknown;
    try {
      data = JSON.parse(readFileSync(join(FIXTURES, file), 'utf8'));
    } catch {
      skipped.push(file); // e.g. committed merge-conflict markers: not a message source
      continue;
    }
    parsed.push(file);
    collect(data, file, messages);
  }
  return { messages, parsed, skipped };
};

describe.skipIf(!present)('findCredential: the upstream message corpus', () => {
  const corpus = present ? loadCorpus() : { messages: [], parsed: [], skipped: [] };
  const REFUSED = 'msg_1762289120_6131';

  it('reads every messages file that parses, including the archive', () => {
    expect(corpus.parsed.some((f) => f.includes('archive'))).toBe(true);
    expect(corpus.skipped.some((f) => f.startsWith('674624c0'))).toBe(true);
    expect(corpus.messages.length).toBeGreaterThan(2000);
  });

  it(`refuses only ${REFUSED}, in its subject and body, on line 3, without echoing the value`, () => {
    const refused = corpus.messages.flatMap((m) =>
      (['subject', 'body'] as const).flatMap((part) => {
        const text = m[part];
        const found = typeof text === 'string' ? findCredential(text) : undefined;
        return found ? [{ id: m.id, file: m.file, part, ...found }] : [];
      }),
    );
    expect([...new Set(refused.map((r) => r.id))]).toEqual([REFUSED]);
    const copies = corpus.messages.filter((m) => m.id === REFUSED).length;
    expect(copies).toBeGreaterThan(0);
    expect(refused).toHaveLength(copies * 2);
    for (const r of refused) {
      expect(r.where).toBe('line 3');
      expect(r.kind).toBe('a value assigned to Password');
      expect(r.kind).not.toContain('REDACTED');
    }
  });
});
