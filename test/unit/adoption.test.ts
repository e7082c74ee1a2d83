// The pure rules behind adopting a repository of the older scripts: classification (BOM,
// documents), builders found by their folders, messages kept for the old readers while a
// fleet moves builder by builder, credentials already in the data, older heartbeat refs.
import { describe, expect, it } from 'vitest';
import { classifyText, entriesOf } from '../../src/domain/classify.js';
import { scanForCredentials } from '../../src/domain/credential-scan.js';
import { builderFolders, registrationOf } from '../../src/domain/legacy/discovery.js';
import { isOlderHeartbeatRef } from '../../src/domain/legacy/heartbeat-ref.js';
import { convertLegacyJobs } from '../../src/domain/legacy/jobs.js';
import { convertLegacyMessages } from '../../src/domain/legacy/messages.js';
import { forOldReaders, legacyTime, messagesForOldReaders, oldReadersOf, sameJson } from '../../src/domain/legacy/readers.js';
import { kindOfPath } from '../../src/schemas/layout.js';
import { message as messageSchema, messagesDoc, messagesDocForOldReaders, type Message } from '../../src/schemas/messages.js';

const FLEET = ['build1', 'build2', 'build3', 'build4'];
const BOM = '\uFEFF';

const current = (fields: Partial<Message> = {}): Message =>
  messageSchema.parse({
    id: 'msg_1',
    from: 'build1',
    to: ['build3'],
    type: 'info',
    subject: 'hello',
    body: 'hello',
    created_at: '2025-11-21T08:10:42.123Z',
    reply_to: null,
    ...fields,
  });

describe('documents are the paths of the store layout', () => {
  it.each([
    ['coordination/messages.json', 'messages'],
    ['build1/status.json', 'status'],
    ['code2/heartbeat.json', 'heartbeat'],
    ['coordination/archive/messages-2025-11.json', 'messages_archive'],
    ['scripts/servers/servers.json', undefined],
    ['coordination/message_stats.json', undefined],
    ['coordination/archives/messages_archive_20251113_111711.json', undefined], // the Python archiver's, not buildctl's
    ['Communications/status.json', undefined], // not a builder id
    ['shared/status.json', undefined], // the layout's own folders are no builder's
    ['coordination/heartbeat.json', undefined],
    ['build1/logs/metrics.json', undefined],
  ])('%s is %s', (path, kind) => {
    expect(kindOfPath(path)?.name).toBe(kind);
  });
});

describe('a UTF-8 byte-order mark', () => {
  const jobs = `${JSON.stringify({ jobs: [] }, null, 2)}\n`;
  it('reads as JSON: a valid document with one is legacy, and migrating drops the mark', () => {
    const classified = classifyText('coordination/jobs.json', `${BOM}${jobs}`, { fleet: [] });
    expect(classified).toMatchObject({ status: 'legacy', value: { jobs: [] }, entries: 1 });
    expect(classified.changes[0]).toMatch(/^UTF-8 byte-order mark dropped/);
  });
  it('is reported with the other changes of a legacy document', () => {
    const status = JSON.stringify({ server_id: 'code1', status: 'online', timestamp: '2025-11-13T03:40:00Z' });
    const classified = classifyText('code1/status.json', `${BOM}${status}`, { fleet: [] });
    expect(classified.status).toBe('legacy');
    expect(classified.changes[0]).toMatch(/byte-order mark/);
    expect(classified.changes).toContain('1 "server_id" renamed "id"');
  });
  it('does not hide a broken document', () => {
    expect(classifyText('coordination/jobs.json', `${BOM}{"jobs": [`, { fleet: [] }).status).toBe('broken');
  });
});

describe('builders found by their folders', () => {
  it('are the top-level folders with a status.json or heartbeat.json and a builder id', () => {
    const folders = builderFolders([
      'build2/status.json', 'build2/heartbeat.json', 'build1/heartbeat.json', 'code1/status.json', 'build1/logs/x.log',
      'windows/README.md', 'Communications/status.json', 'coordination/status.json', 'shared/heartbeat.json', 'all/status.json',
      'scripts/servers/status.json', 'build5/logs/status.json',
    ]);
    expect([...folders]).toEqual([
      ['build1', { status: false, heartbeat: true }],
      ['build2', { status: true, heartbeat: true }],
      ['code1', { status: true, heartbeat: false }],
    ]);
  });

  it('are registered with host, ip, manager and capabilities from their status, nothing guessed', () => {
    const now = new Date('2025-11-21T09:00:00Z');
    expect(registrationOf('build1', { server: 'build1', ip: '10.1.3.175', manager: 'Codex', capabilities: { cores: 32 } }, now)).toEqual({
      id: 'build1', host: null, ip: '10.1.3.175', manager: 'Codex', capabilities: { cores: 32 }, labels: [], enabled: true, added_at: '2025-11-21T09:00:00.000Z',
    });
    expect(registrationOf('code2', { server_id: 'code2', hostname: 'LL-Code-02', ip: '10.1.3.76', role: 'Windows Development Server' })).toEqual({
      id: 'code2', host: 'LL-Code-02', ip: '10.1.3.76', labels: [], enabled: true,
    });
    // Unusable values are left out: a control character, a number, no status at all.
    expect(registrationOf('build4', { ip: 'a\u001bb', manager: 7 })).toEqual({ id: 'build4', host: null, labels: [], enabled: true });
    expect(registrationOf('build3', undefined)).toEqual({ id: 'build3', host: null, labels: [], enabled: true });
  });
});

describe('messages kept for the old readers (legacy_readers)', () => {
  it('a message no old reader needs stays as it is', () => {
    const m = current({ to: ['build2'] });
    expect(forOldReaders(m, ['build3'])).toBe(m);
    expect(oldReadersOf({ from: 'build3', to: ['all'] }, ['build3'])).toEqual([]); // its own broadcast
  });

  it.each([
    ['one recipient', ['build3'], {}, { to: 'build3', read: false }],
    ['a broadcast', ['all'], {}, { to: 'all', read: false }],
    ['several, one of them old', ['build2', 'build3'], {}, { to: 'build3', recipients: ['build2', 'build3'], read: false }],
    ['several, two of them old', ['build3', 'build4'], {}, { to: 'all', recipients: ['build3', 'build4'], read: false }],
    ['read by its old reader', ['build3'], { build3: '2025-11-21T09:00:00Z' }, { to: 'build3', read: true }],
    ['a broadcast read by buildctl readers only', ['all'], { build1: '2025-11-21T09:00:00Z', build2: '2025-11-21T09:00:00Z' }, { to: 'all', read: false }],
  ])('%s: as their jq selection finds it, and read back unchanged', (_name, to, readBy, expected) => {
    const legacyReaders = ['build3', 'build4'];
    const m = current({ from: 'build1', to, read_by: readBy });
    const stored = forOldReaders(m, legacyReaders) as Record<string, unknown>;
    expect(stored).toMatchObject({ ...expected, timestamp: '2025-11-21 08:10', created_at: m.created_at });
    if (!('recipients' in expected)) expect(stored.recipients).toBeUndefined();
    // Valid as stored, and read back as exactly the message it was (nothing to convert).
    expect(messagesDocForOldReaders.safeParse({ messages: [stored] }).success).toBe(true);
    const back = convertLegacyMessages({ messages: [stored] }, { path: 'coordination/messages.json', fleet: FLEET, legacyReaders });
    expect(back?.changes).toEqual([]);
    expect(sameJson((back?.value as { messages: unknown[] }).messages[0], m)).toBe(true);
    expect(classifyText('coordination/messages.json', JSON.stringify({ messages: [stored] }), { fleet: FLEET, legacyReaders }).status).toBe('valid');
  });

  it("the old readers' read = true becomes each old reader's read, at the time it is seen; buildctl readers keep theirs", () => {
    const legacyReaders = ['build3', 'build4'];
    const m = current({ from: 'build1', to: ['all'], read_by: { build2: '2025-11-21T09:00:00Z' } });
    const marked = { ...(forOldReaders(m, legacyReaders) as Record<string, unknown>), read: true };
    const ctx = { path: 'coordination/messages.json', fleet: FLEET, legacyReaders, now: '2025-11-21T10:00:00Z' };
    const converted = convertLegacyMessages({ messages: [marked] }, ctx)!;
    expect(converted.entries).toBe(1);
    expect(converted.changes).toContain('read: true -> read_by for build3, build4');
    const back = messagesDoc.parse(converted.value).messages[0]!;
    expect(back.read_by).toEqual({ build2: '2025-11-21T09:00:00Z', build3: '2025-11-21T10:00:00Z', build4: '2025-11-21T10:00:00Z' });
    expect(back.to).toEqual(['all']);
    // Stored again: still read for the old readers.
    expect(forOldReaders(back, legacyReaders)).toMatchObject({ to: 'all', read: true });
    expect(classifyText('coordination/messages.json', JSON.stringify({ messages: [marked] }), ctx).status).toBe('legacy');
  });

  it('an entry the old send script appended is converted, and stored for the old readers when it is for one', () => {
    const legacyReaders = ['build3'];
    const appended = { id: 'msg_1763700000_1234', from: 'build4', to: 'build3', type: 'info', subject: 's', body: 'b', timestamp: '2025-11-21 08:00', read: false, ack_required: false, ack_status: 'not_requested', acknowledged_by: [] };
    const converted = convertLegacyMessages({ messages: [appended] }, { path: 'coordination/messages.json', fleet: FLEET, legacyReaders })!;
    const doc = messagesDoc.parse(converted.value);
    expect(doc.messages[0]).toMatchObject({ to: ['build3'], created_at: '2025-11-21T08:00:00Z', read_by: {} });
    expect((messagesForOldReaders(doc, legacyReaders).messages as unknown[])[0]).toMatchObject({ to: 'build3', timestamp: '2025-11-21 08:00', read: false, ack_status: 'not_requested' });
  });

  it('without legacy_readers, a stored-for-old-readers message is legacy and converts to the current layout', () => {
    const m = current({ from: 'build1', to: ['build2', 'build3'], read_by: { build3: '2025-11-21T09:00:00Z' } });
    const stored = forOldReaders(m, ['build3']);
    const classified = classifyText('coordination/messages.json', JSON.stringify({ messages: [stored] }), { fleet: FLEET });
    expect(classified.status).toBe('legacy');
    expect(classified.changes).toEqual(expect.arrayContaining(['1 "recipients" lists back to "to"', '1 "timestamp" copies for the old readers dropped', '1 read flags of the old readers dropped (no legacy_readers left)']));
    // Nothing is read for anyone it was not read by: build2 still has it unread.
    expect(sameJson((classified.value as { messages: unknown[] }).messages[0], m)).toBe(true);
  });

  it('the old time format sorts with theirs', () => {
    expect(legacyTime('2025-11-03T16:21:59.999Z')).toBe('2025-11-03 16:21');
  });
});

describe('older names and words the converters now take', () => {
  const ctx = { path: 'coordination/messages.json', fleet: FLEET };
  it('senders and recipients that cannot be builder ids take that form, the originals kept', () => {
    const converted = convertLegacyMessages({ messages: [{ id: 'm1', from: 'Alex M', to: 'Build 3', subject: 's', body: 'b', timestamp: '2025-11-21 08:00', read: false }] }, ctx)!;
    const m = messagesDoc.parse(converted.value).messages[0]!;
    expect(m).toMatchObject({ from: 'alex-m', to: ['build-3'], legacy_from: 'Alex M', legacy_to: ['Build 3'] });
  });
  it('a numeric id is written as text, a missing subject or body as empty: one such message blocks no mailbox', () => {
    const converted = convertLegacyMessages({ messages: [{ id: 7, from: 'build1', to: 'build2', body: null, timestamp: '2025-11-21 08:00', read: false }] }, ctx)!;
    expect(messagesDoc.parse(converted.value).messages[0]).toMatchObject({ id: '7', subject: '', body: '' });
    expect(converted.changes).toEqual(expect.arrayContaining(['1 numeric ids written as text', '1 missing subjects set to empty', '1 missing bodies set to empty']));
  });
  it('job priorities given as words become numbers, job types lowercase, the originals kept', () => {
    const converted = convertLegacyJobs({ jobs: [{ id: 'j1', type: 'Build', priority: 'high', status: 'queued', created_at: '2025-11-21T08:00:00Z' }] }, { path: 'coordination/jobs.json', fleet: [] })!;
    expect((converted.value as { jobs: unknown[] }).jobs[0]).toMatchObject({ type: 'build', priority: 2, legacy_type: 'Build', legacy_priority: 'high', assigned_to: null });
    expect(converted.entries).toBe(1);
  });
});

describe('credentials already in the data', () => {
  it('names the entries and where, never the text', () => {
    const token = 'ghp_k3Jd9QmZ7xR2vB8nT4pL6wY1sC5fH0gAe7Uq';
    const hits = scanForCredentials('coordination/messages.json', 'message', {
      messages: [
        { id: 'm1', subject: 'deploy', body: `push with ${token}` },
        { id: 'm2', subject: 'the password file moved', body: 'see the vault' },
        { id: 'm3', subject: 'ok', body: 'ok', acked_by: { build2: { at: '2025-11-21T08:00:00Z', note: 'api_key=abcd1234efgh' } } },
      ],
    });
    expect(hits).toEqual([
      { file: 'coordination/messages.json', entry: 'message', id: 'm1', found: [expect.stringMatching(/GitHub token in the body, line 1$/)] },
      { file: 'coordination/messages.json', entry: 'message', id: 'm3', found: [expect.stringMatching(/api_key in the ack note of build2, line 1$/)] },
    ]);
    expect(JSON.stringify(hits)).not.toContain(token);
    expect(scanForCredentials('coordination/jobs.json', 'job', { jobs: [{ id: 'j1', description: 'build', result: { reason: `token: ${token}` } }] })).toHaveLength(1);
  });
});

describe('older heartbeat refs', () => {
  it.each([
    [{ commits: 1, hasMetrics: true, form: 'tree' }, false], // earlier buildctl: one parentless commit whose tree holds both files
    [{ commits: 3566, hasMetrics: false, form: 'tree' }, true], // upstream heartbeat/build1
    [{ commits: 1, hasMetrics: false, form: 'tree' }, true],
    [{ commits: 2, hasMetrics: true, form: 'tree' }, true],
    [{ commits: 1, hasMetrics: true, form: 'message' }, false], // buildctl's beat, files in the commit
    [{ commits: 2, hasMetrics: true, form: 'message' }, false], // ... and its parent with the settled hours
    [{ commits: 3, hasMetrics: true, form: 'message' }, true],
  ] as const)('%j is older: %s', (ref, older) => {
    expect(isOlderHeartbeatRef(ref)).toBe(older);
  });
});

describe('the entries a migration report counts', () => {
  it.each([
    ['messages', { messages: [{}, {}] }, 2],
    ['jobs_archive', { jobs: [{}] }, 1],
    ['locks', { locks: [{ name: 'a' }] }, 1],
    // a legacy lock map: only the entries with a holder are locks
    ['locks', { locks: { deploy: { locked_by: 'build1', locked_at: '2025-11-01 10:00' }, job_assignment: { locked_by: null }, x: null } }, 1],
    ['builders', {}, 0],
    ['status', { id: 'build1' }, null],
  ])('%s %j: %s', (kind, json, count) => {
    expect(entriesOf(kind, json)).toBe(count);
  });
});
