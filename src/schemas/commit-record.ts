// One commit of main as a record: what store/commit-log.ts reads and domain/audit.ts turns
// into the audit trail. A shape shared by both layers, so it lives here (as Problem does
// in issues.ts): domain/ never imports store/, not even a type.

export interface CommitRecord {
  commit: string;
  /** Committer time, ISO-8601 UTC (the writer's clock). */
  at: string;
  summary: string;
  /** The Buildctl-Op trailer, or null for a commit made by hand or by other tools. */
  op: string | null;
  actor: string | null;
  op_id: string | null;
  /** Every other trailer, by name (repeated names joined with ", "). */
  trailers: Record<string, string>;
}
