// Keeping repositories small at a cost proportional to what changed, never to the size of
// the store or its history. Every heartbeat replaces its builder's ref, so the beat it
// replaces becomes garbage: one commit (and, once an hour, the parent it shared with the
// other beats of that hour). Nothing else in the store ever refers to a heartbeat commit
// (they point at the empty tree and carry their files in themselves), so exactly those
// objects can be removed, one file each, without a walk of the repository:
//
// - the clone notes every beat it no longer needs in a journal (`replaced-heartbeats`): its
//   own beats when the next one lands (publishHeartbeat), and every builder's when a fetch
//   replaces the ref (fetchRefs reads the old tips from git's own report);
// - a maintenance pass (each agent tick, and a view that fetched the heartbeats when some
//   are due: ops/read.ts fetchFleet) removes the loose objects of the journal's entries
//   older than a grace period (5 minutes: a fetch or a read that started before the
//   replacement has long finished), from the clone and, for its own beats, from the remote
//   when that is a local repository. A commit any heartbeat ref still points at (or has as
//   its parent) is never removed.
// - a fetch of many beats at once (a big fleet's minute) keeps them in one pack, which the
//   journal names too. The pass notes which replaced beats are packed (`replaced-packed`);
//   once the pack's own delay is over, what in it is not such a beat (a beat still live, a
//   commit of main fetched with it) is written loose, and the pack is removed whole. A pack
//   mostly of other objects (one git's gc made meanwhile, a clone catching up on main) is
//   left to git.
//
// A pass takes no lock (nothing it removes can be needed by a transaction, and git's own
// writers never need an object nobody refers to), and stops after a time budget, leaving
// the rest for the next tick. Whole-repository garbage collection is git's own business
// (`gc --auto`, which git runs after fetches and pushes) or `buildctl gc`'s.
import { readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { appendFile, open, readdir, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import { writeFileAtomic } from './atomic-write.js';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { git, openObjectReader, type ObjectReader } from './git.js';
import { PACK_JOURNAL_DELAY_MS, REPLACED_JOURNAL } from './replaced.js';
import { algorithmOf, emptyTree, looseObjectPath, newObject, objectsDirOf, parseTree, readLooseObject, writeLooseObjects, type NewObject } from './objects.js';
import { HEARTBEAT_PREFIX, ORIGIN_HEARTBEAT_PREFIX, REMOTE, type Store } from './store.js';
import { crashPoint } from './test-seam.js';

/** How long a replaced beat stays: any fetch or read that saw it as current has finished by then. */
export const REPLACED_GRACE_MS = 5 * 60_000;
/** A pass stops after this long (the rest waits for the next tick). */
export const PASS_BUDGET_MS = 500;
/** A view's pass (ops/read.ts fetchFleet) is kept shorter: someone is waiting for the view. */
export const VIEW_PASS_BUDGET_MS = 100;
/** Past this size the journal is worth a pass whatever its first line says (a pass puts back the entries it left after newer ones). */
const JOURNAL_DUE_BYTES = 64 * 1024;

export interface PassOptions {
  /** The time of the tick (the context's clock): journal entries are stamped with it. */
  now: Date;
  graceMs?: number;
  budgetMs?: number;
  /** A clock that only moves forward, in ms, for the budget (tests pass their own). */
  monotonic?: () => number;
}

export interface MaintenanceReport {
  /** Replaced heartbeat objects removed from the clone. */
  dropped: number;
  /** ... and from the remote (a local repository; the clone's own beats). */
  remote_dropped: number;
  /** Journal entries left for a later pass (younger than the grace period, or past the budget). */
  pending: number;
  /** Packs of fetched beats removed whole (their objects are counted in `dropped`). */
  packs_removed: number;
  /** Why the remote was left alone, when it was. */
  remote_skipped?: string;
  /** What went wrong (the tick carries on either way). */
  reason?: string;
  duration_ms: number;
}

/** `git count-objects -v` as KiB on disk: loose objects, packs and garbage. */
export const objectStoreKb = async (dir: string): Promise<number> => {
  const { stdout } = await git(dir, ['count-objects', '-v']);
  let kb = 0;
  for (const line of stdout.split('\n')) {
    const [key, value] = line.split(':').map((part) => part.trim());
    if (key === 'size' || key === 'size-pack' || key === 'size-garbage') kb += Number(value) || 0;
  }
  return kb;
};

/** The remote's directory when origin is a local repository; undefined for a network remote. */
export const localRemoteDir = async (cloneDir: string): Promise<string | undefined> => {
  const run = await git(cloneDir, ['remote', 'get-url', REMOTE], { allowFail: true });
  if (run.code !== 0) return undefined;
  let url = run.stdout.trim();
  if (url.startsWith('file://')) url = fileURLToPath(url);
  else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) || /^[^/]+:/.test(url)) return undefined; // https://, ssh://, host:path
  const dir = isAbsolute(url) ? url : resolve(cloneDir, url);
  const isDir = await stat(dir).then((s) => s.isDirectory(), () => false);
  if (!isDir) return undefined;
  const check = await git(dir, ['rev-parse', '--git-dir'], { allowFail: true });
  return check.code === 0 ? dir : undefined;
};

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? 'unknown error';

/** A replaced beat (`sha`), or a pack a fetch of beats made (`pack`, its name without extension). */
type Entry = { at: number; sha: string; /** This clone's own beat (it pushed it): removed from a local remote too. */ own: boolean; pack?: undefined } | { at: number; pack: string; sha?: undefined; own?: undefined };

const parseJournal = (text: string): Entry[] =>
  text.split('\n').flatMap((line): Entry[] => {
    const beat = /^(\d+) ([0-9a-f]{7,64})( own)?$/.exec(line.trim());
    if (beat) return [{ at: Number(beat[1]), sha: beat[2]!, own: beat[3] !== undefined }];
    const pack = /^(\d+) pack (pack-[0-9a-f]{40,64})$/.exec(line.trim());
    return pack ? [{ at: Number(pack[1]), pack: pack[2]! }] : [];
  });

const formatEntry = (entry: Entry): string => (entry.pack !== undefined ? `${entry.at} pack ${entry.pack}\n` : `${entry.at} ${entry.sha}${entry.own ? ' own' : ''}\n`);

/**
 * An entry stamped later than this clock could stamp it (a beat: now; a pack: now and its
 * delay) was stamped by a clock since put back, a fast one set right. It counts from now:
 * its grace is kept, and it does not wait (the journal growing) until that clock's time.
 */
const notAhead = (entry: Entry, now: number): Entry => {
  const latest = now + (entry.pack !== undefined ? PACK_JOURNAL_DELAY_MS : 0);
  return entry.at > latest ? { ...entry, at: latest } : entry;
};

/** Commits heartbeat refs point at, and their parents: never removed. */
const liveCommits = async (dir: string, prefixes: readonly string[]): Promise<Set<string>> => {
  const { stdout } = await git(dir, ['for-each-ref', '--format=%(objectname) %(parent)', ...prefixes]);
  return new Set(stdout.split(/\s+/).filter((sha) => sha !== ''));
};

interface StoredObject {
  type: string;
  body: Buffer;
}

/** Reads an object for the pass: loose, else (when the pass has a reader) from a pack. */
type ObjectSource = (sha: string) => Promise<(StoredObject & { loose: boolean }) | undefined>;

/** A loose object's type and body, or undefined when it is not stored loose. */
const readLoose = (objectsDir: string, sha: string): StoredObject | undefined => {
  const object = readLooseObject(objectsDir, sha);
  return object?.body === undefined ? undefined : { type: object.type, body: object.body };
};

/** The full id of an abbreviated one, when exactly one loose object has it. */
const expandLoose = (objectsDir: string, sha: string): string | undefined => {
  if (sha.length === 40 || sha.length === 64) return sha;
  const names = (() => {
    try {
      return readdirSync(join(objectsDir, sha.slice(0, 2)));
    } catch {
      return [];
    }
  })().filter((name) => name.startsWith(sha.slice(2)));
  return names.length === 1 ? `${sha.slice(0, 2)}${names[0]}` : undefined;
};

const commitFields = (body: Buffer): { tree: string; parents: string[] } => {
  const end = body.indexOf('\n\n');
  const headers = body.toString('latin1', 0, end < 0 ? body.length : end).split('\n');
  return { tree: headers.find((l) => l.startsWith('tree '))?.slice(5) ?? '', parents: headers.filter((l) => l.startsWith('parent ')).map((l) => l.slice(7)) };
};

/**
 * The loose objects that belong to the heartbeat commit `sha`: `own`, the commit (a beat on
 * the empty tree) and its parent of the same form when no live beat shares it, which no
 * other object can be; and for a beat of earlier versions, `contents`, its two trees and
 * two blobs, which another beat with the same bytes (the same metrics line, say) shares:
 * they go only when no live beat holds them (liveContents). Anything else (the older
 * scripts' branches, whose trees share objects with main) is left to git's gc.
 */
const garbageOf = async (read: ObjectSource, sha: string, live: ReadonlySet<string>): Promise<{ own: string[]; contents: string[] }> => {
  const none = { own: [], contents: [] };
  const commit = live.has(sha) ? undefined : await read(sha);
  if (!commit || commit.type !== 'commit') return none;
  const { tree, parents } = commitFields(commit.body);
  if (tree === emptyTree(algorithmOf(sha.length)).id) {
    const parent = parents[0];
    const above = parent === undefined || live.has(parent) ? undefined : await read(parent);
    const parentIsBeat = above?.type === 'commit' && commitFields(above.body).tree === tree && commitFields(above.body).parents.length === 0;
    return { own: parentIsBeat ? [sha, parent!] : [sha], contents: [] };
  }
  // Earlier buildctl: parentless, tree = { <id>/ : { heartbeat.json, metrics.jsonl } }.
  if (parents.length > 0) return none;
  const root = await read(tree);
  const rootEntries = root?.type === 'tree' ? parseTree(root.body, sha.length / 2) : undefined;
  const [dirEntry, ...others] = rootEntries ? [...rootEntries.values()] : [];
  if (!dirEntry || others.length > 0) return none;
  const dir = await read(dirEntry.sha);
  const files = dir?.type === 'tree' ? parseTree(dir.body, sha.length / 2) : undefined;
  if (!files || files.size !== 2 || !files.has('heartbeat.json') || !files.has('metrics.jsonl')) return none;
  return { own: [sha], contents: [tree, dirEntry.sha, ...[...files.values()].map((entry) => entry.sha)] };
};

/**
 * The trees and blobs the live heartbeat commits hold (not their history): what a replaced
 * beat of the earlier form may share byte for byte. Undefined when git cannot list them:
 * then no such object is removed.
 */
const liveContents = async (dir: string, live: ReadonlySet<string>): Promise<Set<string> | undefined> => {
  if (live.size === 0) return new Set();
  const run = await git(dir, ['rev-list', '--objects', '--no-walk=unsorted', '--stdin'], { input: `${[...live].join('\n')}\n`, allowFail: true });
  if (run.code !== 0) return undefined;
  return new Set(run.stdout.split('\n').map((line) => line.split(' ')[0]!).filter((id) => id !== ''));
};

/** What of `sha` a pass removes: its own objects, and its contents that no live beat holds (`held` is read once, when first needed). */
const removableOf = async (read: ObjectSource, sha: string, live: ReadonlySet<string>, held: () => Promise<Set<string> | undefined>): Promise<string[]> => {
  const { own, contents } = await garbageOf(read, sha, live);
  if (contents.length === 0) return own;
  const kept = await held();
  return [...own, ...(kept === undefined ? [] : contents.filter((id) => !kept.has(id)))];
};

/** `liveContents` of a repository, listed once per pass. */
const heldOnce = (dir: string, live: ReadonlySet<string>): (() => Promise<Set<string> | undefined>) => {
  let held: Promise<Set<string> | undefined> | undefined;
  return () => (held ??= liveContents(dir, live));
};

const removeLoose = (objectsDir: string, ids: readonly string[]): number => {
  let removed = 0;
  for (const id of ids) {
    const path = looseObjectPath(objectsDir, id);
    // A packed one (a big fleet's beats) is common: asking costs no exception.
    if (statSync(path, { throwIfNoEntry: false }) === undefined) continue;
    try {
      unlinkSync(path);
      removed++;
    } catch {
      // gone already (another pass), or packed: git's gc takes it
    }
  }
  return removed;
};

/**
 * Removes replaced heartbeat commits (and what belongs to them alone) from the repository
 * at `dir` (a clone or a bare repository), leaving any that a heartbeat ref there still
 * points at. Returns how many objects went. For a fleet's other builders in a simulation.
 */
export const dropFromRepository = async (dir: string, commits: readonly string[]): Promise<number> => {
  const objectsDir = await objectsDirOf(dir);
  const live = await liveCommits(dir, [HEARTBEAT_PREFIX, ORIGIN_HEARTBEAT_PREFIX]);
  const held = heldOnce(dir, live);
  const read = looseSource(objectsDir);
  let removed = 0;
  for (const sha of commits) removed += removeLoose(objectsDir, await removableOf(read, sha, live, held));
  return removed;
};

/** Reads loose objects only: what is packed is not the pass's to remove one by one. */
const looseSource = (objectsDir: string): ObjectSource => async (sha) => {
  const object = readLoose(objectsDir, sha);
  return object && { ...object, loose: true };
};

/** Reads loose objects, else through `git cat-file` (opened on the first packed object, closed by `close`). */
const anySource = (dir: string, objectsDir: string): { read: ObjectSource; close: () => void } => {
  let reader: ObjectReader | undefined;
  return {
    read: async (sha) => {
      const object = readLoose(objectsDir, sha);
      if (object) return { ...object, loose: true };
      const packed = await (reader ??= openObjectReader(dir)).readObject(sha);
      return packed?.body === undefined ? undefined : { type: packed.type, body: packed.body, loose: false };
    },
    close: () => reader?.close(),
  };
};

/** Replaced beats' objects found packed, for their pack's removal: `<at> <id>` lines (at: when found). */
const PACKED_GARBAGE = 'replaced-packed';
/** A packed object noted that long ago whose pack was never removed (git's gc repacked it, say) is forgotten. */
const PACKED_GARBAGE_KEPT_MS = 24 * 3_600_000;
/**
 * And at most this many are kept, the newest: about an hour of a 200-builder fleet's beats,
 * many times what the packs waiting for removal hold. Where packs are left to git (a
 * multi-pack index), the file would otherwise grow by every beat for a day.
 */
const PACKED_GARBAGE_MAX = 20_000;

const readPackedGarbage = async (store: Store): Promise<Map<string, number>> => {
  const text = await readFile(join(store.stateDir, PACKED_GARBAGE), 'utf8').catch(() => '');
  const found = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^(\d+) ([0-9a-f]{40,64})$/.exec(line);
    if (match) found.set(match[2]!, Number(match[1]));
  }
  return found;
};

/**
 * Writes what this pass changed (`garbage` against `before`, as it read the list) into the
 * list as it is now: another pass may have written its own notes meanwhile (a view's pass
 * beside the agent's), and rewriting the list as read would drop them.
 */
const writePackedGarbage = async (store: Store, before: ReadonlyMap<string, number>, garbage: ReadonlyMap<string, number>, now: number): Promise<void> => {
  const merged = await readPackedGarbage(store);
  for (const id of before.keys()) if (!garbage.has(id)) merged.delete(id);
  for (const [id, at] of garbage) if (before.get(id) !== at) merged.set(id, at);
  const recent = [...merged].filter(([, at]) => now - at < PACKED_GARBAGE_KEPT_MS);
  const kept = recent.length > PACKED_GARBAGE_MAX ? recent.sort(([, a], [, b]) => b - a).slice(0, PACKED_GARBAGE_MAX) : recent;
  const file = join(store.stateDir, PACKED_GARBAGE);
  if (kept.length === 0) {
    await rm(file, { force: true });
    return;
  }
  await writeFileAtomic(file, kept.map(([id, at]) => `${at} ${id}\n`).join(''));
};

/** The object ids a pack's index lists (version 2, the only one git writes), or undefined when it cannot be read. */
export const packObjectIds = (idxFile: string, hashBytes: number): string[] | undefined => {
  let idx: Buffer;
  try {
    idx = readFileSync(idxFile);
  } catch {
    return undefined;
  }
  if (idx.length < 8 + 256 * 4 || idx.readUInt32BE(0) !== 0xff744f63 || idx.readUInt32BE(4) !== 2) return undefined;
  const count = idx.readUInt32BE(8 + 255 * 4);
  const start = 8 + 256 * 4;
  if (idx.length < start + count * hashBytes) return undefined;
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push(idx.toString('hex', start + i * hashBytes, start + (i + 1) * hashBytes));
  return ids;
};

/**
 * Removes one journaled pack of fetched beats and returns how many of its objects went, or
 * undefined when it left the pack to git. What in it is not a replaced beat past its grace
 * (`garbage`), or is live again (a heartbeat ref pushed back to an old beat since it was
 * noted), is first written loose, so that no reader ever misses an object; then the pack's
 * files go. A pack git's own gc may be using (a multi-pack index, a .keep) or one mostly of
 * other objects is left to git.
 */
const removePack = async (objectsDir: string, pack: string, garbage: Map<string, number>, live: ReadonlySet<string>, read: ObjectSource): Promise<number | undefined> => {
  const packDir = join(objectsDir, 'pack');
  const exists = (name: string) => stat(join(packDir, name)).then(() => true, () => false);
  if ((await exists(`${pack}.keep`)) || (await exists('multi-pack-index'))) return undefined;
  const ids = packObjectIds(join(packDir, `${pack}.idx`), (pack.length - 'pack-'.length) / 2);
  if (ids === undefined) return undefined; // gone already (git repacked it)
  const keep = ids.filter((id) => !garbage.has(id) || live.has(id));
  if (keep.length * 2 > ids.length) return undefined;
  const loose: NewObject[] = [];
  for (const id of keep) {
    const object = await read(id);
    if (object === undefined) return undefined; // unreadable: touch nothing
    if (!object.loose) loose.push(newObject(object.type as NewObject['type'], object.body, algorithmOf(id.length)));
  }
  writeLooseObjects(objectsDir, loose);
  crashPoint('maintenance-pack');
  // The index last: a git that lists the pack from it finds its objects loose meanwhile.
  for (const ext of ['.pack', '.rev', '.bitmap', '.mtimes', '.idx']) await rm(join(packDir, `${pack}${ext}`), { force: true });
  for (const id of ids) garbage.delete(id);
  return ids.length - keep.length;
};

/** A pass's taken journal older than this was left by a pass that died (a pass lasts its budget, under a second). */
const ABANDONED_PASS_MS = 60_000;

/**
 * Takes the journal for this pass: renamed aside, so beats noted meanwhile go to a fresh one.
 * The taken files stay until the pass has put back what it left (`done`): a pass killed
 * midway leaves them, and a later pass takes them again (removing twice is harmless).
 */
const takeJournal = async (store: Store): Promise<{ entries: Entry[]; done: () => Promise<void> }> => {
  const file = join(store.stateDir, REPLACED_JOURNAL);
  const names = await readdir(store.stateDir).catch(() => [] as string[]);
  const taken: string[] = [];
  for (const name of names.filter((n) => n.startsWith(`${REPLACED_JOURNAL}.`) && n.endsWith('.pass'))) {
    const path = join(store.stateDir, name);
    // Either way from this clock: a file stamped far ahead was stamped before it was put back.
    const age = await stat(path).then((info) => Date.now() - info.mtimeMs, () => 0);
    if (Math.abs(age) > ABANDONED_PASS_MS) taken.push(path);
  }
  const mine = `${file}.${process.pid}.${Date.now().toString(36)}.pass`;
  if (await rename(file, mine).then(() => true, () => false)) {
    // A rename keeps the time of the journal's last append, which can be long ago: the
    // file's time is made the take's, or another pass would take it as abandoned.
    const now = new Date();
    await utimes(mine, now, now).catch(() => undefined);
    taken.push(mine);
  }
  const entries: Entry[] = [];
  for (const path of taken) entries.push(...parseJournal(await readFile(path, 'utf8').catch(() => '')));
  return {
    entries,
    done: async () => {
      for (const path of taken) await rm(path, { force: true });
    },
  };
};

/**
 * Whether a pass would find something to remove now: the journal's first entry (the oldest
 * appended) is past its grace, or the journal has grown large. One small read: a view asks
 * it after every fetch.
 */
export const replacedDue = async (store: Store, now: Date, graceMs = REPLACED_GRACE_MS): Promise<boolean> => {
  const handle = await open(join(store.stateDir, REPLACED_JOURNAL), 'r').catch(() => undefined);
  if (!handle) return false;
  try {
    if ((await handle.stat()).size >= JOURNAL_DUE_BYTES) return true;
    const head = Buffer.alloc(160);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    const first = parseJournal(head.subarray(0, bytesRead).toString('latin1').split('\n')[0] ?? '')[0];
    return first !== undefined && first.at <= now.getTime() - graceMs;
  } catch {
    return false;
  } finally {
    await handle.close();
  }
};

/**
 * One maintenance pass: removes the replaced heartbeat objects whose grace period is over.
 * Never throws (what went wrong is in the report) and never takes the store's lock.
 */
export const dropReplacedHeartbeats = async (store: Store, options: PassOptions): Promise<MaintenanceReport> => {
  const clock = options.monotonic ?? (() => performance.now());
  const started = clock();
  const wallStarted = Date.now();
  const grace = options.graceMs ?? REPLACED_GRACE_MS;
  const budget = options.budgetMs ?? PASS_BUDGET_MS;
  const report: MaintenanceReport = { dropped: 0, remote_dropped: 0, pending: 0, packs_removed: 0, duration_ms: 0 };
  let entries: Entry[] = [];
  let done = async (): Promise<void> => undefined;
  const left: Entry[] = [];
  try {
    ({ entries, done } = await takeJournal(store));
    const now = options.now.getTime();
    const cutoff = now - grace;
    const due = entries.filter((entry) => entry.at <= cutoff);
    left.push(...entries.filter((entry) => entry.at > cutoff).map((entry) => notAhead(entry, now)));
    if (due.length > 0) {
      const objectsDir = await objectsDirOf(store.dir);
      const live = await liveCommits(store.dir, [ORIGIN_HEARTBEAT_PREFIX, 'refs/buildctl/heartbeat/', HEARTBEAT_PREFIX]);
      const lease = await readdir(store.stateDir).catch(() => [] as string[]);
      for (const name of lease.filter((n) => n.startsWith('heartbeat-') && n.endsWith('.lease'))) {
        for (const sha of (await readFile(join(store.stateDir, name), 'utf8').catch(() => '')).split('\n')) if (sha.trim()) live.add(sha.trim());
      }
      const ownDue = due.filter((entry) => entry.own === true);
      const held = heldOnce(store.dir, live);
      let remote: { objectsDir: string; live: Set<string>; held: () => Promise<Set<string> | undefined> } | undefined;
      if (ownDue.length > 0) {
        const dir = await localRemoteDir(store.dir).catch(() => undefined);
        if (dir === undefined) report.remote_skipped = 'not a local repository';
        else {
          const remoteLive = await liveCommits(dir, [HEARTBEAT_PREFIX]);
          remote = { objectsDir: await objectsDirOf(dir), live: remoteLive, held: heldOnce(dir, remoteLive) };
        }
      }
      const source = anySource(store.dir, objectsDir);
      const garbage = await readPackedGarbage(store);
      const garbageBefore = new Map(garbage);
      try {
        // Beats first: the packed ones they find make their packs removable below.
        const ordered = [...due.filter((entry) => entry.pack === undefined), ...due.filter((entry) => entry.pack !== undefined)];
        for (const [index, entry] of ordered.entries()) {
          if (clock() - started > budget) {
            left.push(...ordered.slice(index));
            break;
          }
          crashPoint('maintenance-pass');
          if (entry.pack !== undefined) {
            const dropped = await removePack(objectsDir, entry.pack, garbage, live, source.read);
            if (dropped !== undefined) {
              report.packs_removed++;
              report.dropped += dropped;
            }
            continue;
          }
          const sha = expandLoose(objectsDir, entry.sha) ?? entry.sha;
          for (const id of await removableOf(source.read, sha, live, held)) {
            if (removeLoose(objectsDir, [id]) === 1) report.dropped++;
            else garbage.set(id, options.now.getTime()); // packed (or gone): goes with its pack
          }
          if (entry.own && remote) report.remote_dropped += removeLoose(remote.objectsDir, await removableOf(looseSource(remote.objectsDir), sha, remote.live, remote.held));
        }
      } finally {
        source.close();
        if (garbage.size !== garbageBefore.size || report.packs_removed > 0) await writePackedGarbage(store, garbageBefore, garbage, options.now.getTime()).catch(() => undefined);
      }
    }
  } catch (error) {
    report.reason = describe(error);
    // Nothing is lost: what was not looked at waits for the next pass.
    if (left.length === 0) left.push(...entries);
  }
  report.pending = left.length;
  const putBack = left.length === 0 ? true : await appendFile(join(store.stateDir, REPLACED_JOURNAL), left.map(formatEntry).join('')).then(() => true, () => false);
  if (putBack) await done().catch(() => undefined);
  report.duration_ms = Date.now() - wallStarted;
  return report;
};

export interface GcReport {
  clone_kb_before: number;
  clone_kb_after: number;
  remote_kb_before: number | null;
  remote_kb_after: number | null;
  /** Why the remote was not collected: not a local repository, or its gc failed. */
  remote_skipped: string | null;
  duration_ms: number;
}

/** git's own date format, which every git understands as an absolute time. */
const gitDate = (ms: number): string => {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} +0000`;
};

/**
 * `buildctl gc`: git's whole-repository garbage collection of the clone and, when it is a
 * local repository, of the remote. Unreachable objects younger than an hour stay (a
 * transaction or a push running meanwhile may have just written them), so it needs no
 * lock and nothing waits for it. Its cost grows with the repository: it is for an
 * operator to run, never part of a tick.
 */
export const collectGarbage = async (store: Store, options: { now: Date }): Promise<GcReport> => {
  const started = Date.now();
  const cutoff = gitDate(options.now.getTime() - 3_600_000);
  const gc = (dir: string) => git(dir, ['-c', 'gc.reflogExpireUnreachable=now', '-c', 'core.logAllRefUpdates=false', 'gc', '--quiet', `--prune=${cutoff}`]);
  const report: GcReport = { clone_kb_before: await objectStoreKb(store.dir), clone_kb_after: 0, remote_kb_before: null, remote_kb_after: null, remote_skipped: null, duration_ms: 0 };
  await gc(store.dir);
  report.clone_kb_after = await objectStoreKb(store.dir);
  const remote = await localRemoteDir(store.dir);
  if (remote === undefined) report.remote_skipped = 'not a local repository';
  else {
    try {
      report.remote_kb_before = await objectStoreKb(remote);
      await gc(remote);
      report.remote_kb_after = await objectStoreKb(remote);
    } catch (error) {
      report.remote_skipped = describe(error);
    }
  }
  report.duration_ms = Date.now() - started;
  return report;
};
