// The one credential check for everything an operation commits. Every mutation hands its
// whole input (what the operator or script gave it) to `vetCommitted` before anything is
// fetched, queued or written (ops/mutate.ts), and the commit message is vetted where the
// commit is built. Walking the input instead of listing fields means a field added to an
// operation later is checked without anyone remembering to: only the identifiers below are
// skipped, on purpose, and only when their value has the strict format that proves it.
import { usageError } from '../errors.js';
import { BUILDER_ID_PATTERN } from '../schemas/common.js';
import { findCredential } from './secrets.js';

export interface CommittedValue {
  /** How the operator knows the field: "branch", "label 2", "body". */
  field: string;
  text: string;
}

export interface CredentialRefusal {
  field: string;
  kind: string;
  /** "line N" for a value of several lines; absent for one line. */
  line?: string;
}

/** The ids buildctl makes itself (ops/new-id.ts): `job_<epoch>_<hex>`, `msg_<epoch>_<hex>`. */
const GENERATED_ID = /^(?:job|msg)_\d{1,12}_[0-9a-f]{1,12}$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z$/;

/**
 * Identifiers that cannot hold a credential, skipped on purpose. A builder id is a
 * lowercase letter then at most 31 lowercase letters, digits or "-": no provider token
 * fits (they need "_", upper case or more length) and it has no room for `name=value`.
 * A value of another shape in one of these fields is checked like any other.
 */
const STRICT_FORMATS: Readonly<Record<string, { format: RegExp; why: string }>> = {
  now: { format: ISO_TIME, why: 'a time from buildctl\'s own clock' },
  by: { format: BUILDER_ID_PATTERN, why: 'the acting builder' },
  from: { format: BUILDER_ID_PATTERN, why: 'the sending builder' },
  reader: { format: BUILDER_ID_PATTERN, why: 'the reading builder' },
  target: { format: BUILDER_ID_PATTERN, why: 'a builder id' },
  to: { format: /^(?:[a-z][a-z0-9-]{0,31}|all)$/, why: 'builder ids or "all"' },
  // A builder's id (builder add, init --builder), or a job or message id buildctl generated.
  // An id typed by an operator for an existing job (`job complete ID`) has the job-id
  // format, which can hold a token: it is checked.
  id: { format: new RegExp(`${BUILDER_ID_PATTERN.source}|${GENERATED_ID.source}`), why: 'a builder id or an id buildctl generated' },
};

/** How the CLI names each field, where the input's key differs. */
const FIELD_NAMES: Readonly<Record<string, string>> = {
  artifacts: 'artifact',
  artifactUrls: 'artifact-url',
  labels: 'label',
  name: 'lock name',
  type: 'type',
  job: 'job',
  replyTo: 'reply-to',
  key: 'key',
  value: 'value',
};

const fieldName = (key: string): string => FIELD_NAMES[key] ?? key.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase();

/**
 * Every string an operation's input holds, with the field it came from, except the
 * strict-format identifiers above. Arrays name their entries ("label 2") when they hold
 * more than one; nested objects (builder add's list of builders) name the innermost key.
 */
export const committedValues = (input: unknown): CommittedValue[] => {
  const out: CommittedValue[] = [];
  const walk = (value: unknown, key: string, field: string): void => {
    if (typeof value === 'string') {
      const strict = STRICT_FORMATS[key];
      if (!strict?.format.test(value)) out.push({ field, text: value });
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => walk(item, key, value.length > 1 && typeof item !== 'object' ? `${field} ${i + 1}` : field));
    } else if (value !== null && typeof value === 'object') {
      for (const [childKey, child] of Object.entries(value)) walk(child, childKey, fieldName(childKey));
    }
  };
  walk(input, '', 'value');
  return out;
};

/** What looks like a credential among the values, with the field; never the value. */
export const credentialsIn = (values: readonly CommittedValue[]): CredentialRefusal[] =>
  values.flatMap(({ field, text }) => {
    const found = findCredential(text);
    if (!found) return [];
    return [text.includes('\n') || text.includes('\\n') ? { field, kind: found.kind, line: found.where } : { field, kind: found.kind }];
  });

export const describeRefusal = (r: CredentialRefusal): string => `${r.kind} in the ${r.field}${r.line ? `, ${r.line}` : ''}`;

export const ALLOW_HINT = 'if it is not a credential, run the command again with --allow-secret-like (the commit records it)';

const refusedError = (found: readonly CredentialRefusal[], code: string, what: string) =>
  usageError(`refused: ${what} looks like it holds a credential (${found.map(describeRefusal).join('; ')})`, {
    code,
    hint: `git history keeps what is committed forever: remove the secret and share it another way (mentioning one is fine); ${ALLOW_HINT}`,
    details: { found },
  });

/**
 * Checks an operation's input. Refuses with exit 2, naming each field and what was
 * recognised, unless `allow` (the operator's --allow-secret-like): then returns the
 * findings, which the commit records. Message operations keep their own error code.
 */
export const vetCommitted = (op: string, input: unknown, allow: boolean): CredentialRefusal[] => {
  const found = credentialsIn(committedValues(input));
  if (found.length > 0 && !allow) throw refusedError(found, op.startsWith('msg.') ? 'credential_in_message' : 'credential_in_text', 'this');
  return found;
};

/**
 * The commit message (summary and trailers) is history too. Summaries name operations
 * and ids, so this refuses only what slipped past the input check (or an override).
 */
export const vetCommitMessage = (message: string, allow: boolean): void => {
  if (allow) return;
  const found = findCredential(message);
  if (found) throw refusedError([{ field: 'commit message', kind: found.kind, line: found.where }], 'credential_in_commit', 'the commit message');
};

/** The trailer an override leaves in its commit: what was let through, never the value. */
export const TRAILER_ALLOWED = 'Buildctl-Allowed-Secret-Like';

export const allowedTrailer = (found: readonly CredentialRefusal[]): Record<string, string> =>
  found.length === 0 ? {} : { [TRAILER_ALLOWED]: found.map(describeRefusal).join('; ') };
