import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifyName, findCredential } from '../../src/domain/secrets.js';

// Realistic values, built at run time so that no scanner mistakes this file for a leak.
const gh = `ghp_${'Ab3dE6gH9j'.repeat(3)}K1mN2p`;
const jwt = ['eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9', 'eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ', 'SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c'].join('.');
const slackHook = `https://hooks.slack.com/services/T0${'4GH7K2L'}/B0${'5MN8P3Q'}/${'xY7zQ2wE9rT4'.repeat(2)}`;

// Each row: a text an operator could really send, and what must be recognised in it.
// Every example of issue 13 is here (marked "issue").
const REFUSED: ReadonlyArray<readonly [string, string]> = [
  // issue: forms that were not recognised
  ['https://admin:p@ssw0rd@db.example.com', 'a password in a URL'],
  ['redis://:pw@host', 'a password in a URL'],
  ['mysql -phunter2', 'a password on a mysql command line'],
  ['the root password is hunter2', 'a value assigned to password'],
  ['jira account\npassword:\nhunter2', 'a value assigned to password'],
  ['Password:\n    Xk29-fQ7m', 'a value assigned to Password'],
  [`auth with ${jwt}`, 'a JSON Web Token'],
  ['curl -H "Authorization: Bearer 4f9a8b7c6d5e4f3a2b1c0d9e"', 'a bearer token'],
  ['pass=hunter2', 'a value assigned to pass'],
  ['pwd=Summer2024!', 'a value assigned to pwd'],
  ['DB_PASS=s3cret99', 'a value assigned to DB_PASS'],
  [`notify ${slackHook}`, 'a Slack webhook URL'],
  [`SLACK_APP_TOKEN=xapp-1-A04K2LMNPQ-5829301746253-${'9f8e7d6c5b4a'.repeat(4)}`, 'a Slack app token'],
  // values assigned to secret names
  ['password: hunter2', 'a value assigned to password'],
  ['Password = s3cr3t!', 'a value assigned to Password'],
  ['passwd: letmein', 'a value assigned to passwd'],
  ['DB_PASS=letmein', 'a value assigned to DB_PASS'],
  ['Password: REDACTED', 'a value assigned to Password'],
  ['API_KEY=abcd1234efgh', 'a value assigned to API_KEY'],
  ['"token": "abc123..."', 'a value assigned to token'],
  ['export DB_PASSWORD="Zz9!aa"', 'a value assigned to DB_PASSWORD'],
  ['client_secret: 9f8e7d6c', 'a value assigned to client_secret'],
  ['AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG', 'a value assigned to AWS_SECRET_ACCESS_KEY'],
  ['API key: 12345678', 'a value assigned to API key'],
  ['apiKey: "k-123456"', 'a value assigned to apiKey'],
  ['**Password:** hunter22', 'a value assigned to Password'],
  ['curl https://host/hook?token=deadbeef42', 'a value assigned to token'],
  ['jira:\n  user: codex\n  password: p@ss', 'a value assigned to password'],
  ['spring.datasource.password=Pa55word!', 'a value assigned to spring.datasource.password'],
  ['ansible_become_pass: Hunter2!', 'a value assigned to ansible_become_pass'],
  ['mvn deploy -Ddocker.registry.password=Reg1stry99', 'a value assigned to Ddocker.registry.password'],
  ['PGPASSWORD=hunter2 psql -h db -U app', 'a value assigned to PGPASSWORD'],
  ['mysql --user=root --password=Tr0ub4dor', 'a value assigned to password'],
  ['Jira password for codex: Xyz12345', 'a value assigned to password'],
  ['the new password is: Winter2025!', 'a value assigned to password'],
  ['the API key is AbC123xYz789', 'a value assigned to API key'],
  ['X-Auth-Token: 3f2c9a8b7d6e5f40', 'a value assigned to X-Auth-Token'],
  ['secret: 7fK2pQ9xL1', 'a value assigned to secret'],
  ['vault token: hvs.CAESIJ9f8e7d6c5b4a', 'a value assigned to token'],
  ["kubectl create secret generic db --from-literal=password=S3cr3t", 'a value assigned to password'],
  ['login: admin / password: admin123', 'a value assigned to password'],
  ['creds: admin/Hunter2', 'a value assigned to creds'],
  ['machine git.example.com login deploy password Xk29fQ7m', 'a value assigned to password'],
  ['"auth_token": "0123456789abcdef0123456789abcdef"', 'a value assigned to auth_token'],
  ['SECRET_KEY = "django-insecure-9x$k2!m@"', 'a value assigned to SECRET_KEY'],
  ['GOOGLE_CLIENT_SECRET=\'GOCSPX-Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9\'', 'a Google OAuth client secret'],
  // URLs
  ['git clone https://deploy:Xk29fQ7mP@git.example.com/repo.git', 'a password in a URL'],
  ['DATABASE_URL postgres://app:hunter22@db.internal:5432/app', 'a password in a URL'],
  ['mongodb+srv://user:Sup3rS3cret@cluster0.mongodb.net/app', 'a password in a URL'],
  ['DATABASE_URL=mysql://root:Tr0ub4dor&3@10.0.0.5/app', 'a password in a URL'],
  ['amqp://ci:Rabb1tPass@mq.internal:5672', 'a password in a URL'],
  [`git remote set-url origin https://${gh}@github.com/org/repo.git`, 'a GitHub token'],
  ['https://0123456789abcdef0123456789abcdef01234567@github.com/org/repo.git', 'a token in a URL'],
  // headers and command lines
  ['Authorization: Basic YWRtaW46aHVudGVyMg==', 'a basic-auth credential'],
  ['curl -u admin:hunter2 https://jenkins.internal/api/json', 'a password given to curl -u'],
  ['Authorization: token 0123456789abcdef0123456789abcdef01234567', 'a bearer token'],
  ["sshpass -p 'S3cret!' ssh root@build3", 'a password on a command line'],
  ['docker login -u ci -p Dckr1234pass registry.example.com', 'a password on a command line'],
  ['redis-cli -h cache -a R3d1sPass ping', 'a password on a command line'],
  ['keytool -list -keystore ci.jks -storepass Ch4ngedIt!', 'a secret given as a command-line option'],
  ['gh auth login --token 0123456789abcdef0123', 'a secret given as a command-line option'],
  // provider formats
  [`use ${gh} for the API`, 'a GitHub token'],
  [`gho_${'x1Y2z3'.repeat(6)}`, 'a GitHub token'],
  [`github_pat_11ABCDEFG0_${'a1B2'.repeat(15)}`, 'a GitHub token'],
  ['clone with glpat-AbCdEfGhIjKlMnOpQrSt', 'a GitLab token'],
  ['runner token glrt-9xYzAbCdEfGhIjKlMnOp', 'a GitLab token'],
  ['slack: xoxb-123456789012-abcdefABCDEF', 'a Slack token'],
  ['xoxp-1234567890-0987654321', 'a Slack token'],
  ['key id AKIAIOSFODNN7EXAMPLE', 'an AWS access key id'],
  ['ASIAABCDEFGHIJKLMNOP was issued', 'an AWS access key id'],
  ['maps key AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW', 'a Google API key'],
  ['AccountName=ci;AccountKey=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA==;EndpointSuffix=core.windows.net', 'an Azure account key'],
  ['https://ci.blob.core.windows.net/logs?sv=2022-11-02&sr=c&sig=a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8s9T0%3D', 'an Azure SAS signature'],
  [`client secret Xy78Q~${'aB3dE6gH9j'.repeat(3)}K2m`, 'an Azure client secret'],
  [`//registry.npmjs.org/:_authToken=npm_${'a1B2c3D4e5'.repeat(3)}f6G7h8`, 'an npm token'],
  ['//npm.pkg.github.com/:_authToken=0a1b2c3d4e5f60718293a4b5c6d7e8f9', 'a value assigned to _authToken'],
  [`publish with npm_${'a1B2c3D4e5'.repeat(3)}f6G7h8`, 'an npm token'],
  [`twine upload -p pypi-AgEIcHlwaS5vcmcCJG${'Q4ZjM3ZTE2LWU5'.repeat(4)}`, 'a PyPI token'],
  ['echo dckr_pat_p3jYrxxLOa_ZepweHHBzo_zTS8A | docker login -u ci --password-stdin', 'a Docker Hub token'],
  ['STRIPE=sk_live_4eC39HqLyjWDarjtT1zdp7dc', 'a Stripe key'],
  ['stripe key sk_live_4eC39HqLyjWDarjtT1zdp7dc', 'a Stripe key'],
  [`jira token ATATT3xFfGF0${'a1B2c3D4e5F6'.repeat(5)}`, 'an Atlassian API token'],
  ['-----BEGIN RSA PRIVATE KEY-----\nMIIEow...', 'a private key'],
  ['-----BEGIN OPENSSH PRIVATE KEY-----', 'a private key'],
  // more shapes seen in chat and logs
  ['new wifi: SSID buildlab, password Blue-Falcon-77', 'a value assigned to password'],
  ['admin creds for grafana are admin / Gr4fana!2024', 'a value assigned to creds'],
  ['The password for the build account is Bu1ldAcct#', 'a value assigned to password'],
  ['vpn psk: Vpn!Shared#Key99', 'a value assigned to psk'],
  ['connection string: Server=db1;Database=app;User Id=sa;Password=Sql$erver2019;', 'a value assigned to Password'],
  ['jdbc:postgresql://db:5432/app?user=app&password=Pg9xQ2wE', 'a value assigned to password'],
  ['ssh root@10.1.3.75 (password Hunter2!)', 'a value assigned to password'],
  ['openssl req -passout pass:Hunter2x', 'a value assigned to pass'],
  ['auth.json: {"auths": {"registry.example.com": {"auth": "dXNlcjpwYXNzd29yZA=="}}}', 'a value assigned to auth'],
  ['"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBg"', 'a private key'],
];

const PASSES: readonly string[] = [
  // issue: false alarms that stopped operators
  'Password: changed',
  'token: regenerated',
  'Error: invalid token: signature mismatch',
  'login failed, password: incorrect',
  'secret: santa gift exchange',
  // talking about credentials
  'the password file on each builder',
  'reset your password',
  'token expired',
  'Token: expired',
  'Password: see the vault',
  'password: none',
  'secret: null',
  'Secrets:',
  'the token is valid for 30 days',
  'the password is in 1Password',
  'Password policy: min 12 chars, one digit',
  'API key rotation planned for Q3',
  'password reset link sent to ops',
  'the secret santa draw is on friday',
  'New token: generated, stored in the vault',
  'Password:\n- rotate monthly\n- use the vault',
  'sudo: a password is required',
  '[sudo] password for ubuntu:',
  'Auth rules: API/scripts use API token; Web UI uses a local password file',
  'JWT: HS256 (env BROKER_JWT_SECRET), RS256 later',
  'ghp_ tokens are GitHub personal access tokens',
  'AKIA prefixes mark AWS access keys',
  'PRIVATE KEY blocks must not be committed',
  'deploy key: read-only',
  'the mysql -p flag prompts for the password',
  // placeholders, templates, masks
  'clone https://user:pass@git.example.com/repo.git (your own user and password)',
  'postgres://app:${DB_PASSWORD}@db:5432/app',
  'https://ci:<token>@git.example.com',
  'https://user:***@git.example.com/org/repo.git',
  "jwt_token='...'",
  'token = "…"',
  'password: <your password>',
  'api key: ***',
  'secret = xxx',
  'password=$DB_PASS',
  'password: %JIRA_PASSWORD%',
  'token: {{ vault.token }}',
  'token: process.env.GITHUB_TOKEN',
  'GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}',
  'Using token: ****1234',
  'password: !vault |',
  'token: ghp_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX',
  'PASSWORD=$(cat /run/secrets/db)',
  'docker login -u ci -p $DOCKER_PASSWORD registry.example.com',
  'api_key=YOUR_API_KEY',
  // code quoted in a discussion
  'password = getpass.getpass()',
  'token = request.headers.get("X-Token")',
  'headers: { token: authToken }',
  'if (password == null) return;',
  'apiKey: string;',
  'secret_key_base: <%= ENV["SECRET_KEY_BASE"] %>',
  // build logs and error messages
  'PASS: test_login (0.3s)',
  'pass: 1523 fail: 0',
  'tests: pass=120 fail=3',
  'PWD=/home/runner/work/app',
  'GIT_ASKPASS=echo',
  'max_tokens=4096 is a setting, not a secret',
  'tokens: 5',
  'BUILDCTL_LOCK_TOKEN=17',
  'password_file = /etc/jira/pw',
  'ssh_key: ~/.ssh/id_ed25519',
  'Public key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG',
  'access_token expires_in=3600',
  'SyntaxError: Unexpected token: "}" at line 3',
  "Unexpected token '<' in JSON at position 0",
  'remote: Invalid username or password.',
  "fatal: Authentication failed for 'https://github.com/org/repo.git/'",
  'FATAL: password authentication failed for user "postgres"',
  'Permission denied (publickey,password).',
  'WARNING! Using --password via the CLI is insecure. Use --password-stdin.',
  'ERROR: failed to fetch oauth token: unexpected status: 401 Unauthorized',
  'npm ERR! need auth This command requires you to be logged in.',
  'mysql -u root -p mydb',
  'commit: 3f2a9c8e1b7d4f6a0c5e9b2d8f1a7c3e5b9d0f4a',
  'cache key: node-modules-4f2a9b',
  'token type: bearer',
  'Bearer realm="registry.example.com"',
  'Authorization: required',
  // URLs without credentials
  'ssh://git@git.example.com:2222/repo.git',
  'git@github.com:org/repo.git',
  'http://localhost:8080/status',
  'https://git.example.com/a:b@c is not a credential',
  'https://build-bot@dev.azure.com/org/project/_git/repo',
  'postgres://postgres:postgres@localhost:5432/test',
  'ftp://anonymous:guest@ftp.example.com/pub',
  'http://localhost:5173/@vite/client',
  // infrastructure tools print placeholders of their own
  'secret_access_key = (sensitive value)',
  'password = (known after apply)',
  'Outputs: db_password = <sensitive>',
  'client_secret: [REDACTED]',
  'token_endpoint: https://login.example.com/oauth2/token',
  'Vault: token lookup failed: permission denied',
  "warning: the secret 'DB_PASSWORD' is not set",
  'pytest: PASSED tests/test_auth.py::test_token_refresh',
  'Test Suites: 12 passed, 12 total',
  'ERROR 1045 (28000): Access denied for user \'root\'@\'localhost\' (using password: YES)',
  'license key: XXXXX-XXXXX-XXXXX-XXXXX',
];

describe('findCredential: texts that hold a credential', () => {
  it('has at least 60 of them', () => expect(REFUSED.length).toBeGreaterThanOrEqual(60));
  it.each(REFUSED)('%j: %s', (text, kind) => {
    expect(findCredential(text)?.kind).toBe(kind);
  });
});

describe('findCredential: ordinary operator texts', () => {
  it('has at least 60 of them', () => expect(PASSES.length).toBeGreaterThanOrEqual(60));
  it.each(PASSES)('%j', (text) => {
    expect(findCredential(text)).toBeUndefined();
  });
});

describe('findCredential: what it says', () => {
  it('says which line, counting literal \\n sequences as line breaks', () => {
    expect(findCredential('update\nuser: codex\nPassword: hunter2\nbye')).toEqual({ kind: 'a value assigned to Password', where: 'line 3' });
    expect(findCredential('update\\nuser: codex\\nPassword: hunter2\\nbye')).toEqual({ kind: 'a value assigned to Password', where: 'line 3' });
  });

  it('names the first credential of the text', () => {
    expect(findCredential(`ok\nredis://:Xk29fQ7m@cache\n${gh}`)).toEqual({ kind: 'a password in a URL', where: 'line 2' });
  });

  it('never echoes the value', () => {
    for (const [text] of REFUSED) {
      const shown = JSON.stringify(findCredential(text));
      for (const secret of ['hunter2', 'Xk29', 'p@ssw0rd', gh, 'AKIAIOSFODNN7EXAMPLE', 'YWRtaW46aHVudGVyMg']) {
        if (text.includes(secret)) expect(shown).not.toContain(secret);
      }
    }
  });
});

describe('classifyName: which names name a secret', () => {
  it.each([
    ['DB_PASSWORD', 'password'], ['passwd', 'password'], ['dbPass', 'password'], ['MYSQL_PWD', 'password'], ['pass', 'secret'],
    ['token', 'secret'], ['clientSecret', 'secret'], ['API key', 'secret'], ['x-api-key', 'secret'], ['AWS_SECRET_ACCESS_KEY', 'secret'],
    ['_authToken', 'secret'], ['Authorization', 'secret'],
    ['password_file', undefined], ['bypass', undefined], ['GIT_ASKPASS', undefined], ['max_tokens', undefined], ['Secrets', undefined],
    ['lock token', undefined], ['csrf_token', undefined], ['primary key', undefined], ['key', undefined],
  ] as const)('%s -> %s', (name, expected) => {
    expect(classifyName(name)).toBe(expected);
  });
});

describe('findCredential: cost', () => {
  // Measured, not asserted (a busy machine must not fail the suite): see BENCHMARKS.md.
  it('handles a 10,000-character body of hostile shapes without running away', () => {
    for (const text of ['mysql '.repeat(1700), 'password:\n'.repeat(1000), 'a://'.repeat(2500), 'https://a:b@'.repeat(800), 'x'.repeat(10_000)]) {
      expect(() => findCredential(text.slice(0, 10_000))).not.toThrow();
    }
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
