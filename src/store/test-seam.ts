// A test-only seam at named points of the transaction cycle (test/integration/crash.test.ts,
// stall.test.ts):
// - BUILDCTL_TEST_DIE_AT=<point> kills this process on the spot with SIGKILL. No finally
//   block runs, no lock is released, no answer is printed: what a `kill -9`, the OOM
//   killer or a power cut leaves behind, at a point a test can choose.
// - BUILDCTL_TEST_PAUSE_AT=<point> stops it with SIGSTOP, as a paused VM, a swapped-out
//   process or a blocked event loop would; a SIGCONT from the test resumes it there. It
//   stops once per process: the attempts after waking run through.
// The points: after-lock, after-read, after-commit-object, after-push, heartbeat-after-push,
// maintenance-pass, maintenance-pack, notify-after-send.
//
// Unset (every real run), it is two property reads and comparisons. It reads process.env
// at every call on purpose, not once at start-up: a test seam may do that, and it lets an
// in-process test set and clear it.
export const crashPoint = (name: string): void => {
  if (process.env.BUILDCTL_TEST_DIE_AT === name) process.kill(process.pid, 'SIGKILL');
  if (process.env.BUILDCTL_TEST_PAUSE_AT === name) {
    delete process.env.BUILDCTL_TEST_PAUSE_AT; // once: the retry after waking runs through
    process.kill(process.pid, 'SIGSTOP');
  }
};

/**
 * Whether documents a transaction reads are frozen (store/documents.ts deepFreeze): under the
 * test runner, so that a transition that changes a read entry in place fails the tests. A
 * transaction trusts the entries it read as long as they are the same objects; freezing
 * every entry of a 10 MB document costs tens of milliseconds, so a real run does not.
 */
export const freezeReads = (): boolean => process.env.VITEST !== undefined || process.env.BUILDCTL_TEST_FREEZE === '1';
