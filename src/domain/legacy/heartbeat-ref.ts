// Heartbeat refs the older scripts left (pure rules; the git side is store/heartbeat-ref.ts).

/**
 * A heartbeat ref of the older scripts: `heartbeat/<id>` was a branch of the whole
 * repository (thousands of commits) with an older `<id>/heartbeat.json` and no
 * metrics.jsonl. buildctl's refs hold a beat that carries both files in itself (`message`
 * form, with at most a parent of the same form), or, from earlier versions, one parentless
 * commit whose tree holds them.
 */
export const isOlderHeartbeatRef = (ref: { commits: number; hasMetrics: boolean; form: 'message' | 'tree' }): boolean =>
  ref.form === 'message' ? ref.commits > 2 : ref.commits > 1 || !ref.hasMetrics;

/** What migrating an older heartbeat ref does, for the operator. */
export const heartbeatRefChanges = (id: string, commits: number): string[] => [
  `the branch (${commits} commit${commits === 1 ? '' : 's'} of the older scripts) replaced by one buildctl commit; its old tip kept as legacy/heartbeat/${id}`,
  'metrics.jsonl started empty (the older scripts kept none)',
];
