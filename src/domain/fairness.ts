// Taking turns on one branch. Plain random backoff lets a builder that has just won go
// straight into its next operation while the ones it beat are still waiting, so under
// steady contention some operations lose 25 times in a row. Two rules make the order
// roughly first come, first served (measured: `npm run bench -- --only contention`):
//
// 1. After a rejected push, the older an operation is, the shorter it waits: an operation
//    that has waited HORIZON_CYCLES of its own cycles retries at once, a young one waits
//    out the rest of that horizon. Older operations therefore fetch first and win.
// 2. A builder that won a moment ago and starts another operation at once, while other
//    builders have landed commits within TURN_WINDOW_CYCLES, first waits a random part of
//    one cycle, so the builders it beat get their turn. Commits this clone landed itself
//    are not others' (one clone acting for several builders, `--as`, beats nobody).
//
// Pure: the transaction cycle (store/transaction.ts) measures and waits, this decides.

/** How many of its own cycles an operation may wait in total before it retries at once. */
export const HORIZON_CYCLES = 8;
/** How recently (in cycles) another builder must have landed a commit for a winner to yield. */
export const TURN_WINDOW_CYCLES = 2 * HORIZON_CYCLES;
/** How many recent commits of main are looked at for other builders' activity. */
export const RECENT_COMMITS = 16;

/** The wait before re-trying after a rejected push: the rest of the horizon, jittered by +-20%. */
export const retryDelayMs = (ageMs: number, cycleMs: number, random: () => number): number =>
  Math.max(0, HORIZON_CYCLES * Math.max(0, cycleMs) - Math.max(0, ageMs)) * (0.8 + 0.4 * random());

/**
 * An attempt this many times slower than the clone's last winning one was stalled (a
 * paused process or VM, a blocked event loop), not slowed by contention.
 */
export const STALL_FACTOR = 10;

/**
 * The cycle the retry wait is measured in: the mean of the operation's attempts, unless a
 * stall inflated it, when the clone's last winning cycle stands in. Without this, an
 * operation that stalled for 10 s would wait out 8 cycles of 10 s before retrying.
 */
export const cycleEstimateMs = (meanAttemptMs: number, win: LastWin | undefined): number =>
  win !== undefined && win.cycleMs > 0 && meanAttemptMs > STALL_FACTOR * win.cycleMs ? win.cycleMs : meanAttemptMs;

/** What a builder remembers about its last push that landed. */
export interface LastWin {
  /** When the push was accepted (ms since the epoch). */
  at: number;
  /** How long that winning attempt took, fetch to accepted push. */
  cycleMs: number;
  /** The commits this clone landed lately, newest first (at most RECENT_COMMITS): not others' activity. */
  mine: readonly string[];
}

export const formatLastWin = (win: LastWin): string => `${[Math.round(win.at), Math.round(win.cycleMs), ...win.mine].join(' ')}\n`;

/** Undefined for a missing or unreadable record: no yield, which is always safe. A record without commits (older builds) has none. */
export const parseLastWin = (text: string | undefined): LastWin | undefined => {
  const match = /^(\d+) (\d+)((?: [0-9a-f]{40}(?:[0-9a-f]{24})?)*)\s*$/.exec(text ?? '');
  if (!match) return undefined;
  return { at: Number(match[1]), cycleMs: Number(match[2]), mine: (match[3] ?? '').split(' ').filter(Boolean) };
};

/** The record after `commit` landed: this win, and the clone's earlier winning commits still worth remembering. */
export const nextWin = (previous: LastWin | undefined, at: number, cycleMs: number, commit: string): LastWin => ({
  at,
  cycleMs,
  mine: [commit, ...(previous?.mine ?? []).filter((c) => c !== commit)].slice(0, RECENT_COMMITS),
});

/** Whether an operation starting at `now` follows straight on from the last win (within one cycle). */
export const followsWin = (win: LastWin | undefined, now: number): win is LastWin =>
  win !== undefined && now >= win.at && now - win.at <= win.cycleMs;

/**
 * The wait before the first attempt: a random part of one cycle when this builder starts
 * straight after its own win and another builder landed a commit within the turn window.
 * `recent` are main's latest commits as (id, actor, commit time in ms, whole seconds); the
 * ones this clone landed (win.mine) are its own, whatever builder they were made as.
 */
export const turnDelayMs = (
  win: LastWin | undefined,
  now: number,
  actor: string,
  recent: ReadonlyArray<{ commit: string; actor: string; at: number }>,
  random: () => number,
): number => {
  if (!followsWin(win, now)) return 0;
  // Commit times are whole seconds: a second of slack.
  const window = TURN_WINDOW_CYCLES * win.cycleMs + 1000;
  const othersActive = recent.some((commit) => commit.actor !== '' && commit.actor !== actor && !win.mine.includes(commit.commit) && now - commit.at <= window);
  return othersActive ? random() * win.cycleMs : 0;
};
