// What cron does to a crontab line before the shell sees it, for tests of the lines we write.
/**
 * What cron hands to the shell (Debian's do_command.c): the first five fields dropped; in
 * the command, `\%` becomes `%`, a backslash before anything else stays as it is, and the
 * first other `%` ends the command (the rest becomes its standard input).
 */
export const asCronRunsIt = (line: string): string => {
  const command = line.replace(/^(\S+\s+){5}/, '');
  let out = '';
  let escaped = false;
  for (const ch of command) {
    if (escaped) {
      out = ch === '%' ? `${out.slice(0, -1)}%` : out + ch;
      escaped = false;
    } else if (ch === '\\') {
      escaped = true;
      out += ch;
    } else if (ch === '%') {
      return out;
    } else out += ch;
  }
  return out;
};

