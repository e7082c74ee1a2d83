// Free text from operators and builders is committed to git, shown in tables and logs:
// no control characters (an escape sequence in a job description would repaint an
// operator's terminal), and one line where a table cell or a commit summary shows it.
import { usageError } from '../errors.js';

const CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/;

/** Refuses control characters (tabs and, where allowed, newlines are kept). */
export const checkText = (text: string, what: string, options: { multiline: boolean }): string => {
  const lines = text.split('\n');
  for (const [index, line] of lines.entries()) {
    if (CONTROL.test(line)) {
      throw usageError(`the ${what} holds a control character${options.multiline ? ` (line ${index + 1})` : ''}`, {
        code: 'control_character',
        hint: `remove control characters; only tabs${options.multiline ? ' and newlines' : ''} are kept`,
      });
    }
  }
  if (!options.multiline && lines.length > 1) {
    throw usageError(`the ${what} must be one line`, { code: `multiline_${what.replace(/\W+/g, '_')}`, hint: 'put it on one line' });
  }
  return text;
};

/** The same check for an optional value. */
export const checkOptionalText = (text: string | undefined, what: string, options: { multiline: boolean }): string | undefined =>
  text === undefined ? undefined : checkText(text, what, options);
