// Credential detection for free text that is about to be committed (message subjects,
// bodies and ack notes, job descriptions, fail / cancel / lock break reasons). Git history
// keeps whatever is committed forever, so the check refuses before the write; it never
// rewrites or masks the text.
//
// The rule is "a value, not a word": a credential is recognised when a secret-looking
// name is ASSIGNED a concrete value (`password: hunter2`, `API_KEY=abcd1234`), when a
// string has a known token format (GitHub, GitLab, Slack, AWS access key id), when a URL
// carries a password (`https://user:s3cret@host`), or when a private key block starts.
// Merely talking about one ("the password file on each builder", "token expired",
// `token='...'`) is fine. The upstream message corpus in ../shared/fixtures/upstream is
// the regression set for that balance.
import { usageError } from '../errors.js';

export interface CredentialFinding {
  /** What was recognised, e.g. "password", "GitHub token", "private key". Never the value. */
  kind: string;
  /** Where in the text, e.g. "line 3". */
  where: string;
}

interface TokenFormat {
  kind: string;
  pattern: RegExp;
}

// Known token formats. Lengths are the providers' documented minimums, loosened a little
// so that a truncated paste is still caught; word boundaries keep them from matching
// inside longer identifiers.
const TOKEN_FORMATS: readonly TokenFormat[] = [
  { kind: 'private key', pattern: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----/ },
  { kind: 'GitHub token', pattern: /(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})/ },
  { kind: 'GitLab token', pattern: /(?<![A-Za-z0-9_-])glpat-[A-Za-z0-9_-]{20,}/ },
  { kind: 'Slack token', pattern: /(?<![A-Za-z0-9_-])xox[abpr]-[A-Za-z0-9-]{10,}/ },
  { kind: 'AWS access key id', pattern: /(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])/ },
];

// A secret-looking NAME: the secret word ends the identifier (`DB_PASSWORD`, `jwt_token`,
// `clientSecret`, `API key`), so `password_file = /etc/x` (a path assigned to a file
// name) is not a credential. Then an assignment operator (markdown bold around the name
// allowed: `**Password:** x`) and the value, quoted or up to the next space/separator.
const ASSIGNMENT =
  /(?<![A-Za-z0-9_])([A-Za-z0-9_.-]*?(?:password|passwd|passphrase|secret(?:[_-]?access)?(?:[_-]?key)?|token|api[ _-]?key|apikey))["'`*]*[ \t]*(?::=|=>|=|:)[ \t]*\**[ \t]*("[^"]*"|'[^']*'|`[^`]*`|<[^<>]*>|\$\{[^}]*\}|\{\{[^}]*\}\}|[^\s,;)\]}]+)/gi;

// Values that stand for a credential without being one: dots or an ellipsis, `<...>`,
// stars, x's, variable references (`${VAR}`, `$VAR`, `%VAR%`, `{{ var }}`, process.env.X).
const PLACEHOLDER: readonly RegExp[] = [
  /^[.\u2026]+$/,
  /^<[^<>]*>$/,
  /^\*+$/,
  /^x+$/i,
  /^\$\{[^}]*\}$/,
  /^\$\(?[A-Za-z_][A-Za-z0-9_]*\)?$/,
  /^%[A-Za-z_][A-Za-z0-9_]*%$/,
  /^\{\{[^}]*\}\}$/,
  /^(?:process\.env|os\.environ)\b/,
];

// Words that follow "token:" or "password:" in prose and are not values: a status, an
// absence, or the start of a sentence ("Password: see the vault").
const NOT_A_VALUE = new Set([
  'none', 'null', 'nil', 'undefined', 'true', 'false', 'yes', 'no', 'n/a', 'na', 'empty', 'unset', 'set',
  'required', 'needed', 'missing', 'expired', 'invalid', 'revoked', 'rotated', 'unknown', 'pending',
  'see', 'use', 'ask', 'in', 'is', 'the', 'from', 'stored', 'same', 'tbd', 'todo',
]);

const MIN_VALUE_LENGTH = 3;

// A password inside a URL: `scheme://user:password@host`. Examples write a word for it
// (`user:pass@host`, `user:password@`), which is not a value.
const URL_PASSWORD = /(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s/:@]+:([^\s/@]+)@[^\s/@]/g;
const URL_PLACEHOLDER_WORDS = new Set(['pass', 'password', 'passwd', 'pwd', 'pw', 'secret', 'token', 'pat', 'apikey', 'api_key', 'changeme']);

const unquote = (value: string): string => {
  const first = value[0];
  return (first === '"' || first === "'" || first === '`') && value.length >= 2 && value.endsWith(first) ? value.slice(1, -1) : value;
};

const isConcreteValue = (raw: string): boolean => {
  const bare = unquote(raw).trim();
  if (PLACEHOLDER.some((p) => p.test(bare))) return false;
  // Trailing sentence punctuation belongs to the prose, not the value.
  const value = bare.replace(/[.,:;!?]+$/, '');
  return value.length >= MIN_VALUE_LENGTH && !NOT_A_VALUE.has(value.toLowerCase());
};

/**
 * Lines as the writer meant them. Upstream agents wrote escaped newlines (a literal
 * backslash-n) into bodies, so both count as line breaks: otherwise `Password: x\nNext`
 * would be one line and a value could run into the next sentence.
 */
const linesOf = (text: string): string[] => text.split(/\r?\n|\\n/);

/** The first credential-looking thing in `text`, or undefined. Never returns the value. */
export const findCredential = (text: string): CredentialFinding | undefined => {
  for (const [index, line] of linesOf(text).entries()) {
    const where = `line ${index + 1}`;
    for (const format of TOKEN_FORMATS) {
      if (format.pattern.test(line)) return { kind: format.kind, where };
    }
    for (const [, password] of line.matchAll(URL_PASSWORD)) {
      if (password !== undefined && !URL_PLACEHOLDER_WORDS.has(password.toLowerCase()) && isConcreteValue(password)) {
        return { kind: 'a password in a URL', where };
      }
    }
    for (const [, name, value] of line.matchAll(ASSIGNMENT)) {
      // The name is safe to show (it is what the writer typed before the value) and
      // tells the operator exactly what to remove.
      if (name !== undefined && value !== undefined && isConcreteValue(value)) {
        return { kind: `a value assigned to ${name.trim()}`, where };
      }
    }
  }
  return undefined;
};

/**
 * Refuses free text that looks like it holds a credential. The error says what and where,
 * never the value. `code` names the kind of text (messages keep `credential_in_message`).
 */
export const refuseCredentials = (parts: ReadonlyArray<{ what: string; text: string | undefined }>, code = 'credential_in_text'): void => {
  const found = parts.flatMap(({ what, text }) => {
    const finding = text === undefined ? undefined : findCredential(text);
    return finding ? [`${finding.kind} in the ${what}, ${finding.where}`] : [];
  });
  if (found.length > 0) {
    throw usageError(`refused: this looks like it holds a credential (${found.join('; ')})`, {
      code,
      hint: 'git history keeps what is committed forever: remove the secret and share it another way (mentioning one is fine)',
      details: { found },
    });
  }
};
