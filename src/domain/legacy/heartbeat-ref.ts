// Heartbeat refs the older scripts left (pure rules; the git side is store/heartbeat-ref.ts).

/**
 * A heartbeat ref of the older scripts: `heartbeat/<id>` was a branch of the whole
 * repository (thousands of commits) with an older `<id>/heartbeat.json` and no
 * metrics.jsonl. buildctl's refs hold one parentless commit with both files.
 */
export const isOlderHeartbeatRef = (ref: { commits: number; hasMetrics: boolean }): boolean => ref.commits > 1 || !ref.hasMetrics;

/** What migrating an older heartbeat ref does, for the operator. */
export const heartbeatRefChanges = (id: string, commits: number): string[] => [
  `the branch (${commits} commit${commits === 1 ? '' : 's'} of the older scripts) replaced by one buildctl commit; its old tip kept as legacy/heartbeat/${id}`,
  'metrics.jsonl started empty (the older scripts kept none)',
];
