// Words for a POSIX shell command line, in text buildctl prints or writes for people and
// programs to run (crontab lines, the session checklist).

/** POSIX sh single quotes: the only character needing care is the quote itself. */
export const shQuote = (value: string): string => `'${value.replace(/'/g, `'\\''`)}'`;

/** The word as it is when the shell would take it as it is, else single-quoted. */
export const shWord = (value: string): string => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value) ? value : shQuote(value));
