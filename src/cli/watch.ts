// `--watch`: a view drawn again every interval until SIGINT or SIGTERM, which end it cleanly
// (exit 0). On a terminal each frame replaces the last in place; otherwise (a pipe, a log
// file) frames follow each other as plain lines with no control sequences. With --json
// each frame is one JSON document on one line.
import { setTimeout as sleep } from 'node:timers/promises';
import { usageError } from '../errors.js';
import type { Runtime } from './runtime.js';

/** Each frame fetches from the fleet's remote: faster than this would only load it. */
export const MIN_WATCH_INTERVAL_MS = 1000;

export interface WatchOptions {
  intervalMs: number;
  json: boolean;
  title: (now: Date) => string;
  frame: () => Promise<{ json: unknown; text: string }>;
  /** Whether stdout is a terminal (default: process.stdout.isTTY). */
  tty?: boolean;
}

/** Home, each line followed by erase-to-end-of-line, then erase below: no flicker, no leftovers. */
const inPlace = (text: string): string => `\u001b[H${text.split('\n').map((line) => `${line}\u001b[K`).join('\n')}\n\u001b[J`;

export const watchLoop = async (runtime: Runtime, options: WatchOptions): Promise<void> => {
  if (options.intervalMs < MIN_WATCH_INTERVAL_MS) {
    throw usageError(`a watch interval of ${options.intervalMs} ms is too short`, { code: 'interval_too_short', hint: 'use --interval 1s or longer' });
  }
  const tty = options.tty ?? process.stdout.isTTY === true;
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    while (!stop.signal.aborted) {
      const started = performance.now(); // the interval on this process's own clock: a wall clock set back would stretch it
      const frame = await options.frame();
      if (stop.signal.aborted) break;
      if (options.json) runtime.out(JSON.stringify(frame.json));
      else if (tty) runtime.out(inPlace(`${options.title(new Date())}\n\n${frame.text}`));
      else runtime.out(`${options.title(new Date())}\n${frame.text}\n`);
      await sleep(Math.max(0, options.intervalMs - (performance.now() - started)), undefined, { signal: stop.signal }).catch(() => undefined);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
};
