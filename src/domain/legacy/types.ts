// What every legacy converter takes and gives.

export interface LegacyContext {
  /** The document's path in the store, e.g. `build1/heartbeat.json` (a builder's files name it). */
  path: string;
  /** The registered builder ids: who "all" was, for a legacy read flag on a broadcast. */
  fleet: readonly string[];
}

export interface Converted {
  /** The document in the current layout (the caller validates it against the schema). */
  value: unknown;
  /** What changed, for the operator; empty when the document needed nothing. */
  changes: string[];
  /** Collection entries dropped on purpose (free legacy locks), for the loss guard. */
  removes: string[];
}

/** Converts parsed JSON of any older shape, or returns undefined when it does not recognise it. */
export type LegacyConverter = (json: unknown, ctx: LegacyContext) => Converted | undefined;
