// What every legacy converter takes and gives.

export interface LegacyContext {
  /** The document's path in the store, e.g. `build1/heartbeat.json` (a builder's files name it). */
  path: string;
  /** The fleet's builder ids (registered, else found by their folders): who "all" was, for a legacy read flag. */
  fleet: readonly string[];
  /**
   * The builders still running the older scripts (setting `legacy_readers`): messages for
   * them are kept in the form those scripts read (domain/legacy/readers.ts), and their
   * `read: true` marks are their reads.
   */
  legacyReaders?: readonly string[] | undefined;
  /** When a read mark of the old readers is seen (ISO); without it, the message's own time. */
  now?: string | undefined;
}

export interface Converted {
  /** The document in the current layout (the caller validates it against the schema). */
  value: unknown;
  /** What changed, for the operator; empty when the document needed nothing. */
  changes: string[];
  /** Collection entries dropped on purpose (free legacy locks), for the loss guard. */
  removes: string[];
  /** How many entries the conversion changed (1 for a document without entries); for the commit trailer. */
  entries?: number;
}

/** Converts parsed JSON of any older shape, or returns undefined when it does not recognise it. */
export type LegacyConverter = (json: unknown, ctx: LegacyContext) => Converted | undefined;
