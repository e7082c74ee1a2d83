// Credential recognition for text that is about to be committed. Git history keeps
// whatever is committed, so every value an operation commits is checked before anything
// is written (domain/committed.ts); this module only answers "does this text hold a
// credential, and what kind", never with the value itself.
//
// The rule is "a value, not a word":
// - a known token format (GitHub, GitLab, Slack, AWS, Google, Azure, npm, PyPI, Docker
//   Hub, ...), a private key block, a JWT, a password or token inside a URL, a basic-auth
//   or bearer header, a password on a command line (`mysql -pX`);
// - or a secret-like NAME given a VALUE that looks like a secret: `password: hunter2`,
//   `DB_PASS=s3cr3t`, `the root password is hunter2`, `password:` with the value alone on
//   the next line. A word in that place is prose, not a value: "Password: changed",
//   "token: regenerated", "invalid token: signature mismatch", "secret: santa gift
//   exchange". Placeholders (`<token>`, `${VAR}`, `***`, `...`) are not values either.
//
// Tradeoffs, chosen on purpose:
// - Names that only name passwords (password, passwd, passphrase, or pass / pwd / pw with
//   a qualifier such as DB_PASS) accept a plain word as the value unless it reads as prose
//   (a known status word, a participle, or more words following it): `passwd: letmein` is
//   refused, `password: incorrect` passes. A lower-case dictionary word used as a real
//   password passes only when it also reads as prose: that false negative is accepted.
// - Every other secret name (token, secret, API key, a bare `pass`, which also counts
//   tests) needs a value that looks generated: letters with digits, random mixed case,
//   symbols, 8+ digits or a long high-entropy string.
// - Known token formats are matched a little shorter than the providers issue them, so a
//   pasted prefix of a token is still refused; nobody writes `ghp_` and 30 letters in prose.
// - A bare REDACTED after `Password:` is refused: in the upstream corpus it stands where a
//   real password was pasted (the refusal of that message is the regression test).
// - An account and a password with no secret name between them (`root/S3cret!`) is not
//   recognised: the upstream corpus quotes one such pair in a message that must stay
//   accepted (its refusal set is fixed at exactly one message), and without a name the
//   form is too close to paths and ids to judge.
import { findUrlCredentials } from '../redact.js';

export interface CredentialFinding {
  /** What was recognised, e.g. "a GitHub token", "a value assigned to DB_PASS". Never the value. */
  kind: string;
  /** Where in the text, e.g. "line 3" (literal `\n` sequences count as line breaks). */
  where: string;
}

interface Hit {
  index: number;
  kind: string;
}

// ---- known formats ---------------------------------------------------------------------

interface TokenFormat {
  kind: string;
  pattern: RegExp;
}

// Sources: the gitleaks default rules (config/gitleaks.toml, rule ids named below) and the
// secretlint rule packages (@secretlint/secretlint-rule-*). Minimum lengths are loosened
// where noted so that a truncated paste is still caught.
const TOKEN_FORMATS: readonly TokenFormat[] = [
  // gitleaks private-key (its header only: a key cut short is still a key).
  { kind: 'a private key', pattern: /-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----/ },
  // gitleaks github-pat, github-oauth, github-app-token, github-refresh-token (36 after the
  // prefix) and github-fine-grained-pat (82); loosened to 30.
  { kind: 'a GitHub token', pattern: /(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})/ },
  // gitleaks gitlab-pat, -deploy-token, -runner-authentication-token, -ptt, -feed-token,
  // -incoming-mail-token, -kubernetes-agent-token, -oauth-app-secret, -scim-token,
  // -feature-flag-client-token, -cicd-job-token, gitlab-rrt.
  { kind: 'a GitLab token', pattern: /(?<![A-Za-z0-9_-])(?:gl(?:pat|dt|rt|ptt|ft|imt|agent|oas|soat|ffct|cbt)-[0-9A-Za-z_-]{20,}|GR1348941[0-9A-Za-z_-]{20,})/ },
  // gitleaks slack-bot-token, -user-token, -legacy-*, -config-*: xox[abposre]- then digits
  // and letters; loosened (at least 10 characters, one a digit).
  { kind: 'a Slack token', pattern: /(?<![A-Za-z0-9_-])xox[abposre]-(?=[0-9A-Za-z-]*\d)[0-9A-Za-z-]{10,}/ },
  // gitleaks slack-app-token.
  { kind: 'a Slack app token', pattern: /(?<![A-Za-z0-9_-])xapp-\d-[A-Za-z0-9]+-\d+-[A-Za-z0-9]+/i },
  // gitleaks slack-webhook-url (43-56 characters of path); loosened to 20.
  { kind: 'a Slack webhook URL', pattern: /hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9+/]{20,}/ },
  // gitleaks aws-access-token (its EXAMPLE allow-list is left out: refusing AWS's
  // documentation key costs nothing).
  { kind: 'an AWS access key id', pattern: /(?<![A-Za-z0-9])(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}(?![A-Za-z0-9])/ },
  // gitleaks gcp-api-key.
  { kind: 'a Google API key', pattern: /(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])/ },
  // Google OAuth client secrets (GOCSPX- and 28 characters, in client_secret.json since
  // 2021); not in gitleaks' default rules.
  { kind: 'a Google OAuth client secret', pattern: /(?<![A-Za-z0-9_-])GOCSPX-[0-9A-Za-z_-]{24,}/ },
  // gitleaks azure-ad-client-secret.
  { kind: 'an Azure client secret', pattern: /(?:^|[\\'"`\s>=:(,)])[a-zA-Z0-9_~.]{3}\dQ~[a-zA-Z0-9_~.-]{31,34}(?:$|[\\'"`\s<),])/ },
  // Nosey Parker np.azure.1 (Azure storage and service bus connection strings).
  { kind: 'an Azure account key', pattern: /\b(?:AccountKey|SharedAccessKey|SharedSecretValue)\s*=\s*[A-Za-z0-9/+]{20,}={0,3}/i },
  // Azure shared access signatures: the `sig=` parameter of a SAS URL (Microsoft, "Create a
  // service SAS"): a base64 HMAC, percent-encoded.
  { kind: 'an Azure SAS signature', pattern: /[?&]sig=[A-Za-z0-9%+/]{30,}/ },
  // gitleaks npm-access-token, @secretlint/secretlint-rule-npm.
  { kind: 'an npm token', pattern: /(?<![A-Za-z0-9_])npm_[A-Za-z0-9]{36}(?![A-Za-z0-9_])/ },
  // gitleaks pypi-upload-token (pypi-AgEIcHlwaS5vcmc...): loosened to every macaroon
  // (pypi-AgE...) so that test.pypi.org tokens count too.
  { kind: 'a PyPI token', pattern: /pypi-AgE[A-Za-z0-9_-]{50,}/ },
  // @secretlint/secretlint-rule-docker (dckr_pat_ and 27 characters); loosened to 20.
  { kind: 'a Docker Hub token', pattern: /(?<![A-Za-z0-9_])dckr_pat_[A-Za-z0-9_-]{20,}/ },
  // gitleaks jwt.
  { kind: 'a JSON Web Token', pattern: /(?<![A-Za-z0-9_-])ey[A-Za-z0-9]{17,}\.ey[A-Za-z0-9/\\_-]{17,}\.(?:[A-Za-z0-9/\\_-]{10,}={0,2})?/ },
  // gitleaks stripe-access-token, openai-api-key (loosened), anthropic-api-key and
  // anthropic-admin-api-key (loosened), atlassian-api-token (Jira, Confluence), sendgrid-
  // api-token, digitalocean-pat / -access-token / -refresh-token, huggingface-access-token,
  // artifactory-api-key, shopify-*.
  { kind: 'a Stripe key', pattern: /(?<![A-Za-z0-9_])(?:sk|rk)_(?:test|live|prod)_[A-Za-z0-9]{10,}/ },
  { kind: 'an OpenAI key', pattern: /(?<![A-Za-z0-9_-])sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})/ },
  { kind: 'an Anthropic key', pattern: /(?<![A-Za-z0-9_-])sk-ant-(?:api|admin)\d\d-[A-Za-z0-9_-]{20,}/ },
  { kind: 'an Atlassian API token', pattern: /(?<![A-Za-z0-9_-])ATATT3[A-Za-z0-9_=-]{50,}/ },
  { kind: 'a SendGrid key', pattern: /(?<![A-Za-z0-9_-])SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}/ },
  { kind: 'a DigitalOcean token', pattern: /(?<![A-Za-z0-9_])do[opr]_v1_[a-f0-9]{64}/ },
  { kind: 'a Hugging Face token', pattern: /(?<![A-Za-z0-9_])hf_[A-Za-z]{34}(?![A-Za-z0-9_])/ },
  { kind: 'an Artifactory key', pattern: /(?<![A-Za-z0-9])AKCp[A-Za-z0-9]{69}(?![A-Za-z0-9])/ },
  { kind: 'a Shopify token', pattern: /(?<![A-Za-z0-9_])shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}/ },
];

// ---- values ----------------------------------------------------------------------------

/** Stand-ins for a value: a variable, a template, a mask, an ellipsis, a bracketed label. */
const PLACEHOLDER =
  /^(?:[.\u2026]+|<.*|\(.*|\*{3,}.*|.*\*{4,}.*|x{3,}|<[^<>]*>|\[[^[\]]*\]|\(.*\)|\{\{.*\}\}?|\$\{.*\}?|\$\(.*\)?|\$[A-Za-z_][A-Za-z0-9_]*|%[A-Za-z_][A-Za-z0-9_]*%|@[A-Za-z_]+@|![a-z_]+|(?:process\.env|os\.environ|env|secrets|vars|inputs|ENV)[.[].*|(?:os\.)?getenv\(.*)$/i;

/** Words that stand for a password without being one (`user:pass@`, `--password PASSWORD`). */
const PLACEHOLDER_WORDS = new Set([
  'pass', 'password', 'passwd', 'pwd', 'passphrase', 'secret', 'token', 'pat', 'apikey', 'api_key', 'key',
  'changeme', 'changeit', 'yourpassword', 'mypassword', 'your_password', 'your-password', 'yourtoken', 'your_token',
  'your-token', 'mytoken', 'user', 'username', 'guest',
]);

/**
 * Words that follow a secret name in prose and are not values: a state, an absence, an
 * instruction, or the first word of a sentence ("Password: see the vault").
 */
const PROSE_WORDS = new Set([
  'none', 'null', 'nil', 'undefined', 'true', 'false', 'yes', 'no', 'n/a', 'na', 'empty', 'blank', 'unset', 'set',
  'required', 'optional', 'needed', 'missing', 'expired', 'invalid', 'valid', 'incorrect', 'correct', 'wrong', 'ok',
  'okay', 'revoked', 'rotated', 'unknown', 'pending', 'see', 'use', 'ask', 'in', 'is', 'the', 'a', 'an', 'from',
  'same', 'tbd', 'todo', 'hidden', 'masked', 'reset', 'new', 'old', 'current', 'default', 'here', 'there', 'below',
  'above', 'attached', 'prompt', 'stdin', 'file', 'env', 'environment', 'vault', 'keychain', 'keyring', 'bad',
  'good', 'weak', 'strong', 'secure', 'insecure', 'random', 'mismatch', 'error', 'failure', 'failed', 'denied',
  'ignored', 'unchanged', 'rejected', 'accepted', 'sent', 'not', 'still', 'now', 'please', 'only', 'never', 'always',
  'too', 'via', 'for', 'on', 'at', 'by', 'with', 'without', 'and', 'or', 'it', 'this', 'that', 'same', 'shared',
  'private', 'public', 'local', 'remote', 'lost', 'gone', 'stale', 'fine', 'works', 'working', 'broken', 'bearer',
  'basic', 'type', 'length', 'format', 'changed', 'updated', 'regenerated', 'removed', 'deleted', 'saved', 'stored',
  'encrypted', 'hashed', 'provided', 'supplied', 'enabled', 'disabled', 'locked', 'unlocked', 'generated', 'created',
  'renewed', 'refreshed', 'issued', 'verified', 'confirmed', 'approved', 'leaked', 'exposed', 'compromised',
]);

/** Endings of words that describe rather than name: changed, regenerated, expiring, rotation, revocable. */
const PROSE_ENDING = /(?:ed|ing|ion|ment|ness|able|ible|ful|less|ous|ive|ly|ity|ance|ence|ize|ise)$/i;

/** Without its quotes; an opening quote whose close is on a later line goes too. */
const unquote = (raw: string): string => {
  const first = raw[0];
  if (first !== '"' && first !== "'" && first !== '`') return raw;
  return raw.length >= 2 && raw.endsWith(first) ? raw.slice(1, -1) : raw.slice(1);
};

/** Shannon entropy in bits per character. */
const entropy = (text: string): number => {
  const counts = new Map<string, number>();
  for (const c of text) counts.set(c, (counts.get(c) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) bits -= (n / text.length) * Math.log2(n / text.length);
  return bits;
};

/** A camelCase or snake_case name made of words (`accessToken`, `db_password`): a reference in code, not a value. */
const isIdentifierOfWords = (value: string): boolean =>
  /^[A-Za-z]+(?:[_.-]?[A-Za-z]+)*$/.test(value) &&
  value.split(/[_.-]|(?<=[a-z])(?=[A-Z])/).every((part) => part.length >= 3 && /^[A-Z]?[a-z]+$|^[A-Z]+$/.test(part));

/**
 * Looks generated rather than written: letters mixed with digits, symbols, random mixed
 * case, 8+ digits, or a long string of high entropy.
 */
const looksGenerated = (value: string): boolean => {
  if (value.length < 4) return false;
  const letters = /[A-Za-z]/.test(value);
  const digits = /\d/.test(value);
  if (letters && digits) return !/^v?\d+(?:\.\d+)+[a-z]*$/i.test(value); // not a version number
  if (!letters && digits) return /^\d{8,}$/.test(value);
  if (/[^A-Za-z0-9_./:\s-]/.test(value)) return /[A-Za-z0-9]/.test(value);
  if (/[a-z]/.test(value) && /[A-Z]/.test(value) && !isIdentifierOfWords(value)) return true;
  return value.length >= 20 && entropy(value) >= 3.5;
};

/** Code that computes a value (`getpass()`, `config["db"]`, `req.headers.get(...)`): not the value. */
const CODE_EXPRESSION = /^(?:new[ \t]+)?[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*(?:\(|\[)/;

/** A path or a URL is where a secret lives, not the secret (URL passwords are found apart). */
const isPathOrUrl = (value: string): boolean => /^(?:~?\/|\.\.?\/|[A-Za-z]:\\|[A-Za-z][A-Za-z0-9+.-]*:\/\/)/.test(value);

/** The value with its quotes and trailing sentence punctuation removed, or undefined for a stand-in. */
const concrete = (raw: string): string | undefined => {
  const bare = unquote(raw.trim()).trim();
  if (bare === '' || PLACEHOLDER.test(bare)) return undefined;
  const value = bare.replace(/[.,;:!?)\]]+$/, '');
  if (value.length < 2 || PLACEHOLDER_WORDS.has(value.toLowerCase()) || PROSE_WORDS.has(value.toLowerCase())) return undefined;
  if (isPathOrUrl(value) || CODE_EXPRESSION.test(value)) return undefined;
  return value;
};

/**
 * A plain word after a password name: a value unless it reads as prose (a participle or
 * the like in lower or title case, or more words after it). An ALL-CAPS word is a value.
 */
const isPasswordWord = (value: string, following: string): boolean =>
  /^[A-Za-z][A-Za-z_-]{3,}$/.test(value) &&
  !(/^[A-Z]?[a-z_-]+$/.test(value) && PROSE_ENDING.test(value)) &&
  !/^[ \t]+[A-Za-z(]/.test(following);

// ---- names -----------------------------------------------------------------------------

type NameClass = 'password' | 'secret';

const KEY_QUALIFIERS = new Set(['api', 'access', 'secret', 'private', 'account', 'signing', 'encryption', 'master', 'client', 'auth', 'app', 'license', 'subscription', 'shared', 'sas', 'storage', 'deploy', 'service', 'consumer']);
/** Tokens that are not secrets: paging cursors, CSRF tokens handed to every browser, lock fencing tokens. */
const NOT_SECRET_TOKENS = new Set(['csrf', 'xsrf', 'public', 'page', 'next', 'continuation', 'pagination', 'sync', 'lock', 'fencing', 'cancellation', 'max', 'min', 'num', 'count']);

/** The words of a name: `DB_PASSWORD` -> db, password; `clientSecret` -> client, secret; `API key` -> api, key. */
const wordsOf = (name: string): string[] =>
  name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());

/**
 * Whether a name names a secret, by its last word: password-like names take any value
 * that is not prose; other secret names take only values that look generated.
 */
export const classifyName = (name: string): NameClass | undefined => {
  const words = wordsOf(name);
  const last = words[words.length - 1];
  const before = words[words.length - 2];
  if (last === undefined) return undefined;
  if (/(?:password|passwd|passphrase|passcode)$/.test(last)) return 'password';
  // A pre-shared key (VPN, Wi-Fi).
  if (last === 'psk') return 'secret';
  if (last === 'pass' || last === 'pwd' || last === 'pw') return before !== undefined ? 'password' : 'secret';
  if (/(?:secret|token)$/.test(last) || last === 'credential' || last === 'credentials' || last === 'creds' || last === 'auth' || last === 'authorization') {
    return before !== undefined && NOT_SECRET_TOKENS.has(before) ? undefined : 'secret';
  }
  if (/^(?:apikey|accesskey|secretkey|privatekey|accountkey|sharedaccesskey)$/.test(last)) return 'secret';
  if (last === 'key' && before !== undefined && KEY_QUALIFIERS.has(before)) return 'secret';
  return undefined;
};

// `NAME <op> VALUE`. The name is an identifier, or two words ("API key", "root password");
// markdown emphasis and quotes may close it (`**Password:**`, `"token": `).
const ASSIGNMENT = new RegExp(
  [
    String.raw`(?<![A-Za-z0-9_$])((?:[A-Za-z][A-Za-z0-9]*[ \t])?(?!(?:is|was|are|for|of|on|to|the)\b)[A-Za-z_][A-Za-z0-9_.-]*?)`,
    String.raw`["'\x60*\]]*[ \t]*`,
    String.raw`(?:[ \t]+(?:for|of|on|to)(?:[ \t]+(?!(?:is|was|are)\b)[^\s:=]{1,64}){1,3}[ \t]*)?`,
    String.raw`(:=|=>|->|=(?!=)|:(?![:/])|[ \t](?:is now|is|was|are|will be|becomes|changed to|set to|reset to|updated to)(?:[ \t]*:)?[ \t]|[ \t]+(?=[^\s:=]))`,
  ].join(''),
  'g',
);
const SECRET_WORD = /pass|pwd|pw|secret|token|key|cred|auth/i;

const VALUE_AT = /^[ \t]*\**[ \t]*("[^"\n]*"|'[^'\n]*'|`[^`\n]*`|<[^<>\n]*>|\([^)\n]*\)|\[[^\]\n]*\]|\$\{[^}\n]*\}|\{\{[^}\n]*\}\}|[^\s,;&]+)/;

const assignmentHit = (text: string): Hit | undefined => {
  if (!SECRET_WORD.test(text)) return undefined;
  const pattern = ASSIGNMENT;
  pattern.lastIndex = 0;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    // Every word start is a candidate: a match that is not a secret name must not swallow
    // the first word of one ("the API key is ...").
    pattern.lastIndex = match.index + 1;
    const name = (match[1] ?? '').replace(/[.-]+$/, '');
    const nameClass = classifyName(name);
    if (nameClass === undefined) continue;
    const operator = (match[2] ?? '').trim();
    const verb = /^[a-z]/.test(operator);
    // `password hunter2` (a .netrc line, a chat line): only for password names, and only
    // for a value that looks generated and ends the clause.
    const spaced = operator === '';
    if (spaced && nameClass !== 'password') continue;
    const after = match.index + match[0].length;
    // The rest of the line, at most 512 characters: no candidate ever scans the whole text.
    const window = text.slice(after, after + 512);
    const lineEnd = window.indexOf('\n');
    let rest = lineEnd < 0 ? window : window.slice(0, lineEnd);
    // `password:` ending its line: the value is the next line, when that line is one word.
    if (!verb && rest.trim() === '' && operator === ':') {
      const next = /^[ \t]*\n[ \t]*(\S+)[ \t]*(?:\n|$)/.exec(window);
      if (!next) continue;
      rest = next[1] ?? '';
    }
    const raw = VALUE_AT.exec(rest);
    if (!raw?.[1]) continue;
    let value = concrete(raw[1]);
    let following = rest.slice(raw[0].length);
    // `creds: admin / S3cret!`, `login is ops : S3cret!`: a user name, then the password.
    const pair = /^[ \t]*[/:|][ \t]*("[^"\n]*"|'[^'\n]*'|[^\s,;&]+)/.exec(following);
    if (pair?.[1] && (value === undefined || !looksGenerated(value))) {
      const second = concrete(pair[1]);
      if (second !== undefined && looksGenerated(second)) {
        value = second;
        following = following.slice(pair[0].length);
      }
    }
    if (value === undefined) continue;
    const isValue = spaced
      ? value.length >= 6 && looksGenerated(value) && !/^[ \t]+[A-Za-z(]/.test(following)
      : verb
      ? value.length >= 6 && looksGenerated(value)
      : looksGenerated(value) || (nameClass === 'password' && (isPasswordWord(value, following) || /^\d{4,}$/.test(value)));
    if (!isValue) continue;
    // Two words only where the last one alone is no secret name ("API key", not "with DB_PASS").
    const last = name.split(/[ \t]/).pop() ?? name;
    // Placed at the value: a known format found there names it better than its name does.
    return { index: Math.max(text.indexOf(value, after), after), kind: `a value assigned to ${classifyName(last) === undefined ? name.trim() : last}` };
  }
  return undefined;
};

// ---- headers, command lines, URLs ------------------------------------------------------

// gitleaks curl-auth-header: `Bearer <token>`, and `Authorization: token <token>` (GitHub's form).
const BEARER = /(?:\b[Bb]earer|\bAuthorization["']?[ \t]*[:=][ \t]*["']?(?:[Tt]oken|Bearer))[ \t]+([A-Za-z0-9._~+/-]{8,}=*)/g;
const BASIC = /\b[Bb]asic[ \t]+([A-Za-z0-9+/]{8,}={0,2})(?![A-Za-z0-9+/=])/g;
// gitleaks curl-auth-user: `curl -u user:password`.
const CURL_USER = /\bcurl\b[^\n]{0,300}?[ \t](?:-u|--user)(?:=|[ \t]+)(["']?)([^\s"':]+):([^\s"']+)\1/g;
// MySQL and MariaDB clients take the password glued to -p (`mysql -phunter2`); sshpass -p,
// docker login -p and --password take it as the next word.
const MYSQL_P = /\b(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlshow|mysqlcheck|mysqlsh|mariadb(?:-dump|-admin)?)\b[^\n|;&]{0,300}?[ \t]-p(["']?)([^\s"']+)\1/g;
// `--token <value>`, `-storepass <value>`, `--api-key <value>`: a secret flag and the next word.
const SECRET_FLAG = /(?:^|[ \t])--?(?:[a-z]+-)*(?:password|passwd|passphrase|pass|pwd|storepass|keypass|token|secret|api-?key)[ \t]+(\S+)/gi;
const NEXT_WORD_P = /\b(?:sshpass|docker[ \t]+login|podman[ \t]+login|helm[ \t]+registry[ \t]+login|redis-cli)\b[^\n|;&]{0,300}?[ \t](?:-p|-a|--pass(?:word)?)(?:=|[ \t]+)(\S+)/g;

const firstOf = (pattern: RegExp, text: string, accept: (match: RegExpMatchArray) => boolean): number | undefined => {
  for (const match of text.matchAll(pattern)) if (accept(match)) return match.index;
  return undefined;
};

/** Decodes base64 to text, or undefined when it is not base64 of printable text. */
const decodeBase64 = (value: string): string | undefined => {
  try {
    const decoded = atob(value);
    return /^[\x20-\x7e]+$/.test(decoded) ? decoded : undefined;
  } catch {
    return undefined;
  }
};

const headerHits = (text: string): Hit[] => {
  const hits: Hit[] = [];
  const push = (index: number | undefined, kind: string) => {
    if (index !== undefined) hits.push({ index, kind });
  };
  if (/bearer|token/i.test(text)) {
    push(firstOf(BEARER, text, (m) => concrete(m[1] ?? '') !== undefined && looksGenerated(concrete(m[1] ?? '') ?? '')), 'a bearer token');
  }
  if (/basic/i.test(text)) {
    push(firstOf(BASIC, text, (m) => /^[^:]+:.+$/.test(decodeBase64(m[1] ?? '') ?? '')), 'a basic-auth credential');
  }
  if (text.includes('curl')) {
    push(firstOf(CURL_USER, text, (m) => concrete(m[3] ?? '') !== undefined), 'a password given to curl -u');
  }
  if (/mysql|mariadb/.test(text)) {
    push(firstOf(MYSQL_P, text, (m) => concrete(m[2] ?? '') !== undefined), 'a password on a mysql command line');
  }
  if (/sshpass|login|redis-cli/.test(text)) {
    push(firstOf(NEXT_WORD_P, text, (m) => concrete(m[1] ?? '') !== undefined), 'a password on a command line');
  }
  if (/pass|pwd|token|secret|api/i.test(text)) {
    push(firstOf(SECRET_FLAG, text, (m) => !(m[1] ?? '').startsWith('-') && looksGenerated(concrete(m[1] ?? '') ?? '')), 'a secret given as a command-line option');
  }
  return hits;
};

const urlHits = (text: string): Hit[] => {
  const hits: Hit[] = [];
  for (const credential of findUrlCredentials(text)) {
    if (credential.password === undefined) {
      hits.push({ index: credential.start, kind: 'a token in a URL' });
      continue;
    }
    // `anonymous:guest@` is anonymous FTP; `user:pass@` and `:<token>@` are examples.
    if (credential.user.toLowerCase() === 'anonymous') continue;
    const password = unquote(credential.password);
    if (PLACEHOLDER.test(password) || PLACEHOLDER_WORDS.has(password.toLowerCase())) continue;
    // `postgres:postgres@localhost`: a default of a local service, not a chosen secret.
    if (password === credential.user && /^(?:localhost|127\.0\.0\.1|\[::1\])(?::\d+)?$/.test(credential.host)) continue;
    hits.push({ index: credential.start, kind: 'a password in a URL' });
  }
  return hits;
};

// ---- the check -------------------------------------------------------------------------

/**
 * Upstream agents wrote escaped newlines (a literal backslash-n) into bodies: both count
 * as line breaks, so `Password: x\nNext` does not run the value into the next sentence.
 */
const normalise = (text: string): string => text.replace(/\r\n?/g, '\n').replace(/\\r\\n|\\n/g, '\n');

const lineAt = (text: string, index: number): number => {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < index; i = text.indexOf('\n', i + 1)) line++;
  return line;
};

/**
 * The first credential-looking thing in `text`, or undefined. Says what and where, never
 * the value. Stable: legacy adoption lists credentials already in a store with it.
 */
export const findCredential = (text: string): CredentialFinding | undefined => {
  if (text.length < 4) return undefined;
  const normal = normalise(text);
  const hits: Hit[] = [];
  for (const format of TOKEN_FORMATS) {
    const match = format.pattern.exec(normal);
    // `ghp_XXXXXXXX...` and `AKIA0000...` are examples: a real token uses many characters.
    if (match && new Set(match[0]).size >= 8) hits.push({ index: match.index, kind: format.kind });
  }
  hits.push(...urlHits(normal), ...headerHits(normal));
  const assigned = assignmentHit(normal);
  if (assigned) hits.push(assigned);
  if (hits.length === 0) return undefined;
  const first = hits.reduce((a, b) => (b.index < a.index ? b : a));
  return { kind: first.kind, where: `line ${lineAt(normal, first.index)}` };
};
