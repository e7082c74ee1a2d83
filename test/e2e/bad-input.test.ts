// Bad input across every command, as operators and scripts type it: each row expects a
// specific exit code (2 bad input, 3 the state refuses, 5 invalid store data), one line
// that names the problem, no stack trace, and not one ref of the remote changed (main and
// every heartbeat ref).
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, gitSync, makeFleet, runCli, testContext, type Fleet } from '../helpers/fleet.js';

let fleet: Fleet;
let scratch: string;
let smBin: string;
/** Ids made in beforeAll, substituted for {queued}, {running}, {completed}, {toMe}, {fromMe} in rows. */
const ids: Record<string, string> = {};

const store = () => fleet.stores.build1!;
/** Every ref of the bare remote with its commit: main and refs/heads/heartbeat/*. */
const remoteRefs = () => gitSync(fleet.remote, ['for-each-ref', '--format=%(refname) %(objectname)']);

/** Pushes a hand edit of one file to the remote, the way another tool (or a person) would. */
const pushFile = (path: string, content: string): void => {
  gitSync(scratch, ['fetch', '-q', 'origin', 'main']);
  gitSync(scratch, ['reset', '-q', '--hard', 'origin/main']);
  writeFileSync(join(scratch, path), content);
  gitSync(scratch, ['commit', '-q', '-am', `hand edit ${path}`]);
  gitSync(scratch, ['push', '-q', 'origin', 'HEAD:main']);
};
const remoteText = (path: string): string => gitSync(fleet.remote, ['show', `main:${path}`]);

beforeAll(async () => {
  fleet = await makeFleet(['build1', 'build2']);
  scratch = join(fleet.root, 'scratch');
  gitSync(fleet.root, ['clone', '-q', fleet.remote, scratch]);
  smBin = join(fleet.root, 'sm');
  symlinkSync(CLI, smBin);

  const { addJobOp, claimJobOp, finishJobOp } = await import('../../src/ops/jobs.js');
  const { acquireLockOp } = await import('../../src/ops/locks.js');
  const { sendMessageOp } = await import('../../src/ops/messages.js');
  const { setStatus } = await import('../../src/ops/status-set.js');
  const as1 = testContext(fleet.stores.build1!, 'build1');
  const as2 = testContext(fleet.stores.build2!, 'build2');
  // build2 has completed one job and runs another (one at a time); one job waits, for build2 only.
  ids.completed = (await addJobOp(as1, { type: 'build', priority: 1, target: 'build2' })).job.id;
  await claimJobOp(as2, {});
  await finishJobOp(as2, 'complete', { id: ids.completed });
  ids.running = (await addJobOp(as1, { type: 'build', priority: 1, target: 'build2' })).job.id;
  await claimJobOp(as2, {});
  ids.queued = (await addJobOp(as1, { type: 'package', priority: 100, target: 'build2' })).job.id;
  await acquireLockOp(as2, { name: 'deploy', ttl: '1h' });
  await setStatus(as1, { state: 'idle' });
  ids.toMe = (await sendMessageOp(as2, { to: ['build1'], body: 'for build1' })).message.id;
  ids.fromMe = (await sendMessageOp(as1, { to: ['build2'], body: 'for build2' })).message.id;
}, 60_000);
afterAll(() => fleet?.cleanup());

interface Row {
  /** Arguments after `--store <store> --as <as>` (or the sm program's arguments). */
  args: string[];
  code: 2 | 3 | 5;
  message: RegExp;
  /** Acting builder (`--as`); null for none. Default build1. */
  as?: string | null;
  /** Run as `sm` instead of `buildctl`. */
  sm?: boolean;
  /** Standard input (for a body given as "-"). */
  input?: string;
  /** Where the message is expected (stderr unless said). */
  on?: 'stdout';
  /** A hand edit pushed to the remote before the row, undone after it. */
  corrupt?: { path: string; content: (current: string) => string };
}

const truncate = (text: string) => text.slice(0, Math.floor(text.length / 2));
/** Edits a JSON document, keeping the 2-space layout. */
const editJson = (edit: (doc: any) => void) => (text: string): string => {
  const doc = JSON.parse(text);
  edit(doc);
  return `${JSON.stringify(doc, null, 2)}\n`;
};

const ROWS: Record<string, Row> = {
  // ---- ids: builders, recipients, actors -------------------------------------------
  'init --builder with upper case': { args: ['init', '--builder', 'Build3'], code: 2, message: /invalid builder id "Build3": it has upper-case letters/ },
  'init --builder empty': { args: ['init', '--builder', ''], code: 2, message: /invalid builder id "": it is empty/ },
  'builder add with /': { args: ['builder', 'add', 'b/1'], code: 2, message: /invalid builder id "b\/1": it has characters other than/ },
  'builder add ..': { args: ['builder', 'add', '..'], code: 2, message: /invalid builder id "\.\.": it does not start with a lowercase letter/ },
  'builder add with a space': { args: ['builder', 'add', 'build 3'], code: 2, message: /invalid builder id "build 3": it has characters other than/ },
  'builder add 33 characters': { args: ['builder', 'add', 'b'.repeat(33)], code: 2, message: /invalid builder id "b{33}": it has 33 characters \(at most 32\)/ },
  'builder add empty': { args: ['builder', 'add', ''], code: 2, message: /invalid builder id "": it is empty/ },
  'builder add all (reserved)': { args: ['builder', 'add', 'all'], code: 2, message: /"all" cannot be a builder id: it means every builder/ },
  'builder add bad label': { args: ['builder', 'add', 'build3', '--label', 'Big Disk'], code: 2, message: /invalid label "Big Disk"/ },
  'builder remove unknown': { args: ['builder', 'remove', 'build9'], code: 2, message: /unknown builder "build9"/ },
  'builder remove ../x': { args: ['builder', 'remove', '../x'], code: 2, message: /invalid builder id "\.\.\/x"/ },
  '--as upper case (status set)': { as: 'Build1', args: ['status', 'set', 'idle'], code: 2, message: /invalid builder id from --as "Build1": it has upper-case letters/ },
  '--as unregistered (status set)': { as: 'build9', args: ['status', 'set', 'idle'], code: 2, message: /unknown builder "build9"/ },
  '--as with a space (heartbeat)': { as: 'build 1', args: ['heartbeat'], code: 2, message: /invalid builder id from --as "build 1": it has characters other than/ },
  '--as unregistered (heartbeat)': { as: 'build9', args: ['heartbeat'], code: 2, message: /unknown builder "build9"/ },
  // ---- states ------------------------------------------------------------------------
  'status set sleeping': { args: ['status', 'set', 'sleeping'], code: 2, message: /unknown state "sleeping"/ },
  'status set --job with /': { args: ['status', 'set', 'building', '--job', 'a/b'], code: 2, message: /invalid job id "a\/b"/ },
  'status set --job with escape': { args: ['status', 'set', 'building', '--job', 'job-1\u001b[2J'], code: 2, message: /invalid job id "job-1\\u001b\[2J"/ },
  'status set empty': { args: ['status', 'set', ''], code: 2, message: /unknown state ""/ },
  // ---- job add: types, priorities, durations, times, targets -------------------------
  'job add type upper case': { args: ['job', 'add', '--type', 'Build'], code: 2, message: /invalid job type "Build"/ },
  'job add type with /': { args: ['job', 'add', '--type', 'build/x'], code: 2, message: /invalid job type "build\/x"/ },
  'job add type empty': { args: ['job', 'add', '--type', ''], code: 2, message: /invalid job type ""/ },
  'job add priority 0': { args: ['job', 'add', '--type', 'build', '--priority', '0'], code: 2, message: /invalid priority 0/ },
  'job add priority 101': { args: ['job', 'add', '--type', 'build', '--priority', '101'], code: 2, message: /invalid priority 101/ },
  'job add priority 1.5': { args: ['job', 'add', '--type', 'build', '--priority', '1.5'], code: 2, message: /'1\.5' is invalid\. priority must be a whole number/ },
  'job add priority abc': { args: ['job', 'add', '--type', 'build', '--priority', 'abc'], code: 2, message: /'abc' is invalid\. priority must be a whole number/ },
  'job add description with a credential': { args: ['job', 'add', '--type', 'build', '--description', 'deploy, API_KEY=0123456789abcdef'], code: 2, message: /refused: this looks like it holds a credential \(a value assigned to API_KEY in the description\)/ },
  'job add max attempts 0': { args: ['job', 'add', '--type', 'build', '--max-attempts', '0'], code: 2, message: /invalid max attempts 0/ },
  'job add timeout 5x': { args: ['job', 'add', '--type', 'build', '--timeout', '5x'], code: 2, message: /invalid timeout "5x"/ },
  'job add timeout -1m': { args: ['job', 'add', '--type', 'build', '--timeout', '-1m'], code: 2, message: /invalid timeout "-1m"/ },
  'job add timeout 0s': { args: ['job', 'add', '--type', 'build', '--timeout', '0s'], code: 2, message: /invalid timeout "0s": it must be longer than zero/ },
  'job add run-after yesterday': { args: ['job', 'add', '--type', 'build', '--run-after', 'yesterday'], code: 2, message: /invalid run-after time "yesterday"/ },
  'job add run-after month 13': { args: ['job', 'add', '--type', 'build', '--run-after', '2026-13-01T00:00:00Z'], code: 2, message: /invalid run-after time "2026-13-01T00:00:00Z"/ },
  'job add run-after without zone': { args: ['job', 'add', '--type', 'build', '--run-after', '2026-11-27T22:00:00'], code: 2, message: /invalid run-after time "2026-11-27T22:00:00"/ },
  'job add unknown target': { args: ['job', 'add', '--type', 'build', '--target', 'build9'], code: 2, message: /unknown target builder "build9"/ },
  'job add target with ..': { args: ['job', 'add', '--type', 'build', '--target', '../build1'], code: 2, message: /invalid target builder "\.\.\/build1"/ },
  'job add bad label': { args: ['job', 'add', '--type', 'build', '--label', 'Linux'], code: 2, message: /invalid label "Linux"/ },
  'job add target and label': { args: ['job', 'add', '--type', 'build', '--target', 'build2', '--label', 'linux'], code: 2, message: /a target builder or labels, not both/ },
  // ---- job claim / complete / fail / cancel / retry / show ---------------------------
  'job claim type with space': { args: ['job', 'claim', '--type', 'big build'], code: 2, message: /invalid job type "big build"/ },
  'job claim nothing eligible': { args: ['job', 'claim', '--type', 'nosuch'], code: 3, message: /nothing to claim for build1 of type "nosuch"/ },
  'job complete unknown id': { args: ['job', 'complete', '../job-1'], code: 2, message: /unknown job "\.\.\/job-1"/ },
  'job complete a queued job': { args: ['job', 'complete', '{queued}'], code: 3, message: /job \S+ is queued, not running/ },
  "job complete another's job": { args: ['job', 'complete', '{running}'], code: 3, message: /job \S+ is assigned to build2, not build1/ },
  'job fail empty reason': { args: ['job', 'fail', '{running}', '--reason', ' '], code: 2, message: /a reason is required to fail a job/ },
  'job fail without --reason': { args: ['job', 'fail', '{running}'], code: 2, message: /required option '--reason <text>' not specified/ },
  'job cancel a completed job': { args: ['job', 'cancel', '{completed}'], code: 3, message: /job \S+ is already completed/ },
  'job cancel unknown id': { args: ['job', 'cancel', 'job-NOPE'], code: 2, message: /unknown job "job-NOPE"/ },
  'job retry a completed job': { args: ['job', 'retry', '{completed}'], code: 3, message: /job \S+ is completed: only a failed, cancelled or dead job can be retried/ },
  'job retry a queued job': { args: ['job', 'retry', '{queued}'], code: 3, message: /job \S+ is queued: only a failed/ },
  'job show unknown id': { args: ['job', 'show', 'job-x y'], code: 2, message: /unknown job "job-x y"/ },
  'job list unknown status': { args: ['job', 'list', '--status', 'done'], code: 2, message: /unknown job status "done"/ },
  // ---- locks -------------------------------------------------------------------------
  'lock acquire name with /': { args: ['lock', 'acquire', 'a/b'], code: 2, message: /invalid lock name "a\/b"/ },
  'lock acquire name ..': { args: ['lock', 'acquire', '..'], code: 2, message: /invalid lock name "\.\."/ },
  'lock acquire empty name': { args: ['lock', 'acquire', ''], code: 2, message: /invalid lock name ""/ },
  'lock acquire ttl 5x': { args: ['lock', 'acquire', 'cache', '--ttl', '5x'], code: 2, message: /invalid TTL "5x"/ },
  'lock acquire ttl 0s': { args: ['lock', 'acquire', 'cache', '--ttl', '0s'], code: 2, message: /invalid lock TTL 0 ms/ },
  'lock acquire wait soon': { args: ['lock', 'acquire', 'cache', '--wait', 'soon'], code: 2, message: /invalid wait "soon"/ },
  'lock acquire held by another': { args: ['lock', 'acquire', 'deploy'], code: 3, message: /lock "deploy" is held by build2 until/ },
  'lock renew ttl -1m': { args: ['lock', 'renew', 'deploy', '--ttl', '-1m'], code: 2, message: /invalid TTL "-1m"/ },
  "lock renew another's lock": { args: ['lock', 'renew', 'deploy'], code: 3, message: /lock "deploy" is held by build2, not build1/ },
  "lock release another's lock": { args: ['lock', 'release', 'deploy'], code: 3, message: /lock "deploy" is held by build2, not build1/ },
  'lock release a free lock': { args: ['lock', 'release', 'nobody-holds-this'], code: 3, message: /lock "nobody-holds-this" is not held/ },
  'lock break empty reason': { args: ['lock', 'break', 'deploy', '--reason', ''], code: 2, message: /a reason is required to break a lock/ },
  'lock break name with space': { args: ['lock', 'break', 'my lock', '--reason', 'stuck'], code: 2, message: /invalid lock name "my lock"/ },
  'lock run bad name': { args: ['lock', 'run', 'a/b', '--', 'true'], code: 2, message: /invalid lock name "a\/b"/ },
  'lock run ttl 5x': { args: ['lock', 'run', 'cache', '--ttl', '5x', '--', 'true'], code: 2, message: /invalid TTL "5x"/ },
  'lock run wait soon': { args: ['lock', 'run', 'cache', '--wait', 'soon', '--', 'true'], code: 2, message: /invalid wait "soon"/ },
  // ---- messages ----------------------------------------------------------------------
  'msg send to an unknown builder': { args: ['msg', 'send', 'build9', 'hello'], code: 2, message: /unknown recipient "build9"/ },
  'msg send to an upper-case id': { args: ['msg', 'send', 'Build2', 'hello'], code: 2, message: /unknown recipient "Build2"/ },
  'msg send unknown type': { args: ['msg', 'send', 'build2', 'hello', '--type', 'urgent'], code: 2, message: /unknown message type "urgent"/ },
  'msg send bell in body': { args: ['msg', 'send', 'build2', 'ding\u0007dong'], code: 2, message: /the body holds a control character \(line 1\)/ },
  'msg send escape sequence in body': { args: ['msg', 'send', 'build2', 'ok\nthen \u001b[2J gone'], code: 2, message: /the body holds a control character \(line 2\)/ },
  'msg send NUL in body (stdin)': { args: ['msg', 'send', 'build2', '-'], input: 'before\u0000after\n', code: 2, message: /the body holds a control character \(line 1\)/ },
  'msg send empty body': { args: ['msg', 'send', 'build2', ''], code: 2, message: /the message body is empty/ },
  'msg send body too long': { args: ['msg', 'send', 'build2', 'x'.repeat(10_001)], code: 2, message: /the body has 10001 characters, more than 10000/ },
  'msg send two-line subject': { args: ['msg', 'send', 'build2', 'hi', '--subject', 'one\ntwo'], code: 2, message: /the subject must be one line/ },
  'msg send subject too long': { args: ['msg', 'send', 'build2', 'hi', '--subject', 's'.repeat(101)], code: 2, message: /the subject has 101 characters, more than 100/ },
  'msg send reply to unknown': { args: ['msg', 'send', 'build2', 'hi', '--reply-to', 'msg-nope'], code: 2, message: /cannot reply to unknown message "msg-nope"/ },
  'msg send a credential': { args: ['msg', 'send', 'build2', 'db password=Hunter2hunter2'], code: 2, message: /refused: this looks like it holds a credential/ },
  'msg read unknown id': { args: ['msg', 'read', 'msg-nope'], code: 2, message: /unknown message "msg-nope"/ },
  'msg read nothing named': { args: ['msg', 'read'], code: 2, message: /which messages\? give message ids or all/ },
  'msg read not addressed to me': { args: ['msg', 'read', '{fromMe}'], code: 2, message: /message \S+ is not addressed to build1/ },
  'msg ack unknown id': { args: ['msg', 'ack', 'msg/../x'], code: 2, message: /unknown message "msg\/\.\.\/x"/ },
  'msg ack note with escape': { args: ['msg', 'ack', '{toMe}', '--note', 'ok\u001b]0;pwned\u0007'], code: 2, message: /the note holds a control character/ },
  'msg show unknown id': { args: ['msg', 'show', 'msg-nope'], code: 2, message: /unknown message "msg-nope"/ },
  'msg list unknown type': { args: ['msg', 'list', '--type', 'urgent'], code: 2, message: /unknown message type "urgent"/ },
  // ---- sm ----------------------------------------------------------------------------
  'sm 9 (no such builder)': { sm: true, args: ['9', 'hello'], code: 2, message: /unknown recipient "build9"/ },
  'sm 0': { sm: true, args: ['0', 'hello'], code: 2, message: /"0": digit 0 names no builder/ },
  'sm upper-case id': { sm: true, args: ['Build2', 'hello'], code: 2, message: /invalid recipient "Build2": it has upper-case letters/ },
  'sm all with others': { sm: true, args: ['build2,all', 'hello'], code: 2, message: /"all" cannot be combined with other recipients/ },
  'sm unknown type': { sm: true, args: ['2', '-t', 'urgent', 'hello'], code: 2, message: /unknown message type "urgent"/ },
  'sm NUL in body (stdin)': { sm: true, args: ['2', '-'], input: '\u0000', code: 2, message: /the body holds a control character/ },
  // ---- config ------------------------------------------------------------------------
  'config set duration 5x': { args: ['config', 'set', 'stale_after', '5x'], code: 2, message: /invalid value "5x" for stale_after/ },
  'config set unknown key': { args: ['config', 'set', 'colour', 'blue'], code: 2, message: /unknown setting "colour"/ },
  'config set 1.5 attempts': { args: ['config', 'set', 'job_max_attempts', '1.5'], code: 2, message: /invalid value "1\.5" for job_max_attempts/ },
  'config set dead before stale': { args: ['config', 'set', 'dead_after', '1m'], code: 2, message: /dead_after \(1m\) must be longer than stale_after \(3m\)/ },
  'config set schedule 61 * * * *': { args: ['config', 'set', 'schedule', '61 * * * *'], code: 2, message: /invalid value "61 \* \* \* \*" for schedule: 61 is a invalid expression for minute/ },
  'config set schedule in words': { args: ['config', 'set', 'schedule', 'every minute please'], code: 2, message: /invalid value "every minute please" for schedule: expected 5 or 6 fields/ },
  'config set a key without a value': { args: ['config', 'set', 'lock_ttl', '45s', 'stale_after'], code: 2, message: /"stale_after" has no value/ },
  'config set subject_max abc': { args: ['config', 'set', 'subject_max', 'abc'], code: 2, message: /invalid value "abc" for subject_max/ },
  // ---- validate, agent ---------------------------------------------------------------
  'validate unknown option': { args: ['validate', '--fix'], code: 2, message: /unknown option '--fix'/ },
  'agent bad schedule': { args: ['agent', '--schedule', 'every minute'], code: 2, message: /invalid schedule "every minute"/ },
  // The agent logs one JSON line per tick, the error among its fields.
  'agent --once as an invalid id': { as: 'Build1', args: ['agent', '--once'], code: 2, message: /"error":"invalid builder id from --as \\"Build1\\": it has upper-case letters"/ },
  // ---- store documents written by someone else ---------------------------------------
  'jobs.json truncated (job add)': {
    corrupt: { path: 'coordination/jobs.json', content: truncate },
    args: ['job', 'add', '--type', 'build'], code: 5, message: /invalid document coordination\/jobs\.json: JSON syntax error .*truncated/,
  },
  'jobs.json jobs not a list (job claim)': {
    corrupt: { path: 'coordination/jobs.json', content: () => '{"jobs": {"id": "j1"}}\n' },
    args: ['job', 'claim'], code: 5, message: /invalid document coordination\/jobs\.json: jobs: /,
  },
  // (A priority word such as "high" or a `to` string is an older layout: read converted, not refused.)
  'jobs.json priority a boolean (job cancel)': {
    corrupt: { path: 'coordination/jobs.json', content: editJson((d) => (d.jobs[0].priority = true)) },
    args: ['job', 'cancel', '{queued}'], code: 5, message: /invalid document coordination\/jobs\.json: jobs\[0\]\.priority: /,
  },
  'jobs.json job without created_at (job retry)': {
    corrupt: { path: 'coordination/jobs.json', content: editJson((d) => delete d.jobs[1].created_at) },
    args: ['job', 'retry', '{completed}'], code: 5, message: /invalid document coordination\/jobs\.json: jobs\[1\]\.created_at: /,
  },
  'messages.json truncated (msg send)': {
    corrupt: { path: 'coordination/messages.json', content: truncate },
    args: ['msg', 'send', 'build2', 'hello'], code: 5, message: /invalid document coordination\/messages\.json: JSON syntax error .*truncated/,
  },
  'messages.json to is a number (msg read)': {
    corrupt: { path: 'coordination/messages.json', content: editJson((d) => (d.messages[0].to = 42)) },
    args: ['msg', 'read', '--all'], code: 5, message: /invalid document coordination\/messages\.json: messages\[0\]\.to: /,
  },
  'messages.json message without from (sm)': {
    corrupt: { path: 'coordination/messages.json', content: editJson((d) => delete d.messages[1].from) },
    sm: true, args: ['2', 'hello'], code: 5, message: /invalid document coordination\/messages\.json: messages\[1\]\.from: /,
  },
  'locks.json lock without token (lock acquire)': {
    corrupt: { path: 'coordination/locks.json', content: editJson((d) => delete d.locks[0].token) },
    args: ['lock', 'acquire', 'cache'], code: 5, message: /invalid document coordination\/locks\.json: locks\[0\]\.token: /,
  },
  'locks.json last_token a string (lock break)': {
    corrupt: { path: 'coordination/locks.json', content: editJson((d) => (d.last_token = '7')) },
    args: ['lock', 'break', 'deploy', '--reason', 'stuck'], code: 5, message: /invalid document coordination\/locks\.json: last_token: /,
  },
  'builders.json truncated (builder add)': {
    corrupt: { path: 'coordination/builders.json', content: truncate },
    args: ['builder', 'add', 'build3'], code: 5, message: /invalid document coordination\/builders\.json: JSON syntax error .*truncated/,
  },
  'builders.json enabled "yes" (builder remove)': {
    corrupt: { path: 'coordination/builders.json', content: editJson((d) => (d.builders[1].enabled = 'yes')) },
    args: ['builder', 'remove', 'build2'], code: 5, message: /invalid document coordination\/builders\.json: builders\[1\]\.enabled: /,
  },
  'config.json a number for a duration (config set)': {
    corrupt: { path: 'coordination/config.json', content: () => '{"stale_after": 180}\n' },
    args: ['config', 'set', 'lock_ttl', '1m'], code: 5, message: /invalid document coordination\/config\.json: stale_after: /,
  },
  'config.json a list (job add)': {
    corrupt: { path: 'coordination/config.json', content: () => '[]\n' },
    args: ['job', 'add', '--type', 'build'], code: 5, message: /invalid document coordination\/config\.json/,
  },
  'status.json without state (status set)': {
    corrupt: { path: 'build1/status.json', content: editJson((d) => delete d.state) },
    args: ['status', 'set', 'idle'], code: 5, message: /invalid document build1\/status\.json: state: /,
  },
  'status.json truncated (validate)': {
    corrupt: { path: 'build1/status.json', content: truncate },
    args: ['validate'], on: 'stdout', code: 5, message: /build1\/status\.json: JSON syntax error .*truncated/,
  },
};

describe('bad input: a specific exit code, a message naming the problem, nothing written', () => {
  it.each(Object.entries(ROWS))('%s', async (_name, row) => {
    const fill = (arg: string) => arg.replace(/\{(\w+)\}/g, (_, key: string) => ids[key] ?? `{${key}}`);
    const original = row.corrupt ? remoteText(row.corrupt.path) : undefined;
    if (row.corrupt) pushFile(row.corrupt.path, row.corrupt.content(original!));
    try {
      const before = remoteRefs();
      const as = row.as === undefined ? 'build1' : row.as;
      const globals = ['--store', store(), ...(as === null ? [] : ['--as', as])];
      const run = await runCli([...globals, ...row.args.map(fill)], { ...(row.sm ? { bin: smBin } : {}), ...(row.input === undefined ? {} : { input: row.input }) });
      const said = `exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`;
      expect(run.code, said).toBe(row.code);
      expect(row.on === 'stdout' ? run.stdout : run.stderr, said).toMatch(row.message);
      expect(run.stderr, said).not.toMatch(/\n\s+at |unexpected error/);
      expect(remoteRefs(), 'nothing is written to the remote').toBe(before);
    } finally {
      if (row.corrupt) pushFile(row.corrupt.path, original!);
    }
  });
});
