// Zod issues in the words `validate` and error messages use: a field path and a reason.
import type * as z from 'zod/mini';

export interface Problem {
  /** field path, e.g. `jobs[3].priority`; empty for the whole document */
  path: string;
  reason: string;
}

type Issue = z.core.$ZodIssue;

export const formatPath = (path: readonly PropertyKey[]): string =>
  path.reduce<string>((text, key) => {
    if (typeof key === 'number') return `${text}[${key}]`;
    const name = String(key);
    return text === '' ? name : `${text}.${name}`;
  }, '');

const describeIssue = (issue: Issue): string => {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? `required ${issue.expected} is missing` : `expected ${issue.expected}, got ${typeName(issue.input)}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`;
    case 'too_small':
      return issue.origin === 'array' || issue.origin === 'string'
        ? `must have at least ${String(issue.minimum)} ${issue.origin === 'array' ? 'items' : 'characters'}`
        : `must be ${issue.inclusive ? '>=' : '>'} ${String(issue.minimum)}`;
    case 'too_big':
      return issue.origin === 'array' || issue.origin === 'string'
        ? `must have at most ${String(issue.maximum)} ${issue.origin === 'array' ? 'items' : 'characters'}`
        : `must be ${issue.inclusive ? '<=' : '<'} ${String(issue.maximum)}`;
    case 'invalid_format':
      return issue.message && issue.message !== 'Invalid input' ? `must be ${issue.message}` : `not a valid ${issue.format}`;
    case 'invalid_union':
      return 'does not match any allowed form';
    case 'invalid_key':
      return 'has an invalid key';
    case 'invalid_element':
      return 'has an invalid element';
    case 'unrecognized_keys':
      return `unknown keys: ${issue.keys.join(', ')}`;
    default:
      return issue.message;
  }
};

const typeName = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;

export const issuesToProblems = (issues: readonly Issue[]): Problem[] =>
  issues.map((issue) => ({ path: formatPath(issue.path), reason: describeIssue(issue) }));

