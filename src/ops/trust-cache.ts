// What this clone has worked out about main's history, so that no command judges a commit
// twice (ops/trust.ts): the trust ledger at the last few commits it was advanced to, and
// one verdict line per commit. Both live in .git/buildctl/trust/, are never pushed, and are
// only a cache: anything unreadable is dropped and worked out again from history.
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod/mini';
import type { SignatureFact, Taint, TrustState, Verdict } from '../domain/trust.js';
import { writeFileAtomic } from '../store/atomic-write.js';
import type { Store } from '../store/store.js';

/** The latest change to a builder's status.json. */
export interface StatusFact {
  /** null: before this clone's ledger began (the status existed when keys were first read). */
  commit: string | null;
  verdict: Verdict;
  /** Trusted for that builder: signed by its own key, or an operator action by an operator key. */
  trusted: boolean;
  actor: string | null;
  signer: string | null;
  reason: string;
}

export interface Ledger {
  version: number;
  /** The commit it describes (the state after it). */
  tip: string;
  state: TrustState;
  status: Record<string, StatusFact>;
  taints: Record<string, Taint>;
  /** Changes to the keys or the setting that history left out (the newest 50). */
  refused: Array<{ commit: string; change: string }>;
  /** The commit that registered the first key: no commit before it could be verified. */
  signing_since: string | null;
}

/** Bumped whenever the rules change what a ledger holds: an older cache is then recomputed. */
export const LEDGER_VERSION = 1;
/** How many ledgers (at different commits) are kept: concurrent commands may work at different commits. */
const KEPT = 8;

const dir = (store: Store) => join(store.stateDir, 'trust');
const ledgerFile = (store: Store) => join(dir(store), 'ledger.json');
const verdictFile = (store: Store) => join(dir(store), 'verdicts.jsonl');

const verdict = z.enum(['verified', 'unverified', 'forged']);
const nullableString = z.nullable(z.string());
const trustedKey = z.object({ id: z.string(), key: z.string(), fingerprint: z.string(), operator: z.boolean(), added_in: z.string(), revoked_in: nullableString });
const statusFact = z.object({ commit: nullableString, verdict, trusted: z.boolean(), actor: nullableString, signer: nullableString, reason: z.string() });
const taint = z.object({
  kind: z.enum(['status', 'job', 'lock']),
  id: z.string(),
  owner: nullableString,
  commit: z.string(),
  verdict,
  actor: nullableString,
  op: nullableString,
  signer: nullableString,
  reason: z.string(),
});
const ledger = z.object({
  version: z.literal(LEDGER_VERSION),
  tip: z.string(),
  state: z.object({ keys: z.array(trustedKey), enforce_since: nullableString, accepted: z.array(z.string()) }),
  status: z.record(z.string(), statusFact),
  taints: z.record(z.string(), taint),
  refused: z.array(z.object({ commit: z.string(), change: z.string() })),
  signing_since: nullableString,
});
/**
 * The kept ledgers, by tip, each validated only when it is asked for: a fleet of 200
 * builders keeps 8 ledgers of 200 status facts each, and validating all of them at every
 * command cost 12 ms where one is used. One that fails its schema is as good as absent.
 */
export interface KeptLedgers {
  /** The ledger whose tip is `tip`, if one is kept and valid. */
  at(tip: string): Ledger | undefined;
  /** The kept ledgers as read, newest first, for writing back. */
  readonly raw: readonly unknown[];
}

const tipOf = (raw: unknown): unknown => (raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>).tip : undefined);

export const NO_LEDGERS: KeptLedgers = { at: () => undefined, raw: [] };

/** The kept ledgers (none when the cache is missing or unreadable). */
export const readLedgers = async (store: Store): Promise<KeptLedgers> => {
  const text = await readFile(ledgerFile(store), 'utf8').catch(() => undefined);
  let list: unknown;
  try {
    list = text === undefined ? undefined : (JSON.parse(text) as Record<string, unknown> | null)?.ledgers;
  } catch {
    return NO_LEDGERS;
  }
  if (!Array.isArray(list)) return NO_LEDGERS;
  const raw: readonly unknown[] = list;
  const validated = new Map<string, Ledger | undefined>();
  return {
    raw,
    at: (tip) => {
      if (!validated.has(tip)) {
        const found = raw.find((entry) => tipOf(entry) === tip);
        const parsed = found === undefined ? undefined : ledger.safeParse(found);
        validated.set(tip, parsed?.success ? parsed.data : undefined);
      }
      return validated.get(tip);
    },
  };
};

/**
 * Keeps `newest` first and a few older ones: `known`, the ledgers read before (best effort: a
 * cache that cannot be written is recomputed).
 */
export const writeLedger = async (store: Store, newest: Ledger, known: KeptLedgers): Promise<void> => {
  const others = known.raw.filter((l) => typeof tipOf(l) === 'string' && tipOf(l) !== newest.tip);
  await writeFileAtomic(ledgerFile(store), `${JSON.stringify({ ledgers: [newest, ...others].slice(0, KEPT) })}\n`).catch(() => undefined);
};

/** One commit's verdict as the ledger judged it. */
export interface CommitVerdict {
  commit: string;
  verdict: Verdict;
  /** Whose key signed it, when registered. */
  signer: string | null;
  fingerprint: string | null;
  /** What require_signed_writes acts on: verified, and an operator key for an operator action. */
  trusted: boolean;
  /** Whether require_signed_writes was on at its parent. */
  enforced: boolean;
  reason: string;
}

const verdictLine = z.object({ commit: z.string(), verdict, signer: nullableString, fingerprint: nullableString, trusted: z.boolean(), enforced: z.boolean(), reason: z.string() });

export const appendVerdicts = async (store: Store, verdicts: readonly CommitVerdict[]): Promise<void> => {
  if (verdicts.length === 0) return;
  await mkdir(dir(store), { recursive: true }).catch(() => undefined);
  // One append per batch: lines of concurrent writers never interleave within a line.
  await appendFile(verdictFile(store), verdicts.map((v) => `${JSON.stringify(v)}\n`).join('')).catch(() => undefined);
};

/** Every verdict this clone has worked out, by commit. */
export const readVerdicts = async (store: Store): Promise<Map<string, CommitVerdict>> => {
  const text = await readFile(verdictFile(store), 'utf8').catch(() => '');
  const map = new Map<string, CommitVerdict>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      const parsed = verdictLine.safeParse(JSON.parse(line));
      if (parsed.success) map.set(parsed.data.commit, parsed.data);
    } catch {
      // a torn line of a writer killed mid-append: skipped, and judged again when needed
    }
  }
  return map;
};

const signatureFact = z.union([
  z.object({ kind: z.literal('none') }),
  z.object({ kind: z.literal('bad'), reason: z.string() }),
  z.object({ kind: z.literal('good'), key: z.string(), fingerprint: z.string() }),
]);

/** What a signature check found, as the signature memo keeps it (store/signature-memo.ts). */
export const formatSignatureFact = (fact: SignatureFact): string => JSON.stringify(fact);

/** A remembered signature check; undefined when there is none or it does not pass its schema (then the signature is checked again). */
export const parseSignatureFact = (text: string | undefined): SignatureFact | undefined => {
  if (text === undefined) return undefined;
  try {
    const parsed = signatureFact.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
};
