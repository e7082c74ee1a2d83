// A test-only seam: `crashPoint('after-commit')` kills this process on the spot, with
// SIGKILL, when BUILDCTL_TEST_DIE_AT names that point. No finally block runs, no lock is
// released, no answer is printed: exactly what a `kill -9`, the OOM killer or a power cut
// leaves behind, at a point a test can choose (test/integration/crash.test.ts).
//
// Unset (every real run), it is one property read and a comparison. It reads
// process.env at every call on purpose, not once at start-up: a test seam may do that,
// and it lets an in-process test set and clear it.
export const crashPoint = (name: string): void => {
  if (process.env.BUILDCTL_TEST_DIE_AT === name) process.kill(process.pid, 'SIGKILL');
};
