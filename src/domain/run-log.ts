// The last lines of a command's output, as `job run` records them in the job's result.
// They are committed, so they are cleaned first: terminal escapes and control characters
// removed, long lines cut, and a line that looks like it holds a credential withheld (a
// build log may print one; git history would keep it forever). The whole log stays on the
// builder, in its log file.
import { findCredential } from './secrets.js';

/** How many lines, and how long each, the result keeps. */
export const TAIL_LINES = 20;
export const TAIL_WIDTH = 200;

export const WITHHELD_LINE = '[line withheld: it looks like it holds a credential; see the log file]';

// CSI and OSC sequences (colours, cursor moves, titles), then any other control character but tab.
const ESCAPES = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[@-_]/g;
const CONTROLS = /[\u0000-\u0008\u000A-\u001F\u007F-\u009F]/g;

/** One line as it may be committed: no escapes or control characters, at most `width` characters. */
export const cleanLine = (line: string, width = TAIL_WIDTH): string => {
  const plain = line.replace(ESCAPES, '').replace(CONTROLS, '').trimEnd();
  return plain.length > width ? `${plain.slice(0, width - 1)}…` : plain;
};

/**
 * The last `count` non-empty lines of `text`, cleaned. A carriage return rewrites its line
 * (progress bars), so only what follows the last one on each line counts.
 */
export const tailLines = (text: string, count = TAIL_LINES, width = TAIL_WIDTH): string[] =>
  text
    .split('\n')
    .map((line) => cleanLine(line.slice(line.lastIndexOf('\r', line.length - 2) + 1), width))
    .filter((line) => line.trim() !== '')
    .slice(-count)
    .map((line) => (findCredential(line) ? WITHHELD_LINE : line));
