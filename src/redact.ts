// Credentials inside URLs (`https://user:password@host`, `redis://:pw@host`,
// `https://<token>@github.com`): where they are in a text, and the one redaction that
// everything buildctl prints or logs goes through (the CLI's stdout and stderr, the agent
// log, the outbox's dropped log). Like git, which prints `https://host/...` or
// `<redacted>` instead of a URL's credentials, the user stays visible and the secret
// becomes `***`. Shared by every layer like errors.ts: it is text handling, not a rule.

export interface UrlCredential {
  /** Index of the password (or of a token used as the user name) in the text. */
  start: number;
  end: number;
  user: string;
  /** The host and port after the credentials. */
  host: string;
  /** Undefined when the URL has a user name only (`https://TOKEN@host`). */
  password: string | undefined;
}

const SCHEME = /(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*:\/\//g;
/** The authority ends at the path, query or fragment, at white space, or at a quote or bracket around the URL. */
const AUTHORITY_END = /[\s/?#"'`<>]/;
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d*)?$/;
/**
 * A user name alone is a token when it is long and mixes letters and digits (GitHub and
 * GitLab accept `https://<token>@host`); `git@`, `deploy@` or `ci-bot@` are only names.
 */
const TOKEN_AS_USER = /^(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{20,}$/;

/**
 * Every URL in `text` whose authority carries a password or a token. The password is
 * everything between the first `:` of the user info and the LAST `@` before the host,
 * so a password that itself holds `@` (`https://admin:p@ssw0rd@db`) is found whole.
 */
export const findUrlCredentials = (text: string): UrlCredential[] => {
  if (!text.includes('://')) return [];
  const found: UrlCredential[] = [];
  for (const scheme of text.matchAll(SCHEME)) {
    const from = scheme.index + scheme[0].length;
    const rest = text.slice(from, from + 2048);
    const stop = rest.search(AUTHORITY_END);
    const authority = stop < 0 ? rest : rest.slice(0, stop);
    const at = authority.lastIndexOf('@');
    const host = authority.slice(at + 1);
    if (at <= 0 || !HOST.test(host)) continue;
    const userInfo = authority.slice(0, at);
    const colon = userInfo.indexOf(':');
    if (colon < 0) {
      if (TOKEN_AS_USER.test(userInfo)) found.push({ start: from, end: from + at, user: userInfo, host, password: undefined });
    } else if (colon < userInfo.length - 1) {
      found.push({ start: from + colon + 1, end: from + at, user: userInfo.slice(0, colon), host, password: userInfo.slice(colon + 1) });
    }
  }
  return found;
};

/** `text` with every password or token inside a URL replaced by `***`. */
export const redactCredentials = (text: string): string => {
  const found = findUrlCredentials(text);
  if (found.length === 0) return text;
  let out = '';
  let last = 0;
  for (const credential of found) {
    out += `${text.slice(last, credential.start)}***`;
    last = credential.end;
  }
  return out + text.slice(last);
};
