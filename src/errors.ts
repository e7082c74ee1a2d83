// Typed errors shared by every layer. Only the CLI entry point turns them into an exit
// code; everything below it throws. A `kind` says what sort of failure it is, so domain
// code never needs to know about processes or exit codes.

export type ErrorKind =
  | 'failed' // 1: the operation failed
  | 'usage' // 2: bad usage or bad input
  | 'not_now' // 3: lock held, nothing to claim, push contention exhausted
  | 'unreachable' // 4: the remote cannot be reached
  | 'invalid_data'; // 5: a store document is invalid

const EXIT_CODES: Record<ErrorKind, number> = {
  failed: 1,
  usage: 2,
  not_now: 3,
  unreachable: 4,
  invalid_data: 5,
};

export interface ErrorOptions {
  /** Stable machine-readable code, e.g. `unknown_builder`. */
  code: string;
  /** One line telling the operator what to do next. */
  hint?: string;
  cause?: unknown;
  /** Structured details for `--json` error output. */
  details?: Record<string, unknown>;
}

export class BuildctlError extends Error {
  readonly kind: ErrorKind;
  readonly code: string;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(kind: ErrorKind, message: string, options: ErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BuildctlError';
    this.kind = kind;
    this.code = options.code;
    this.hint = options.hint;
    this.details = options.details;
  }

  get exitCode(): number {
    return EXIT_CODES[this.kind];
  }
}

export const usageError = (message: string, options: ErrorOptions): BuildctlError =>
  new BuildctlError('usage', message, options);
export const notNowError = (message: string, options: ErrorOptions): BuildctlError =>
  new BuildctlError('not_now', message, options);
export const unreachableError = (message: string, options: ErrorOptions): BuildctlError =>
  new BuildctlError('unreachable', message, options);
export const invalidDataError = (message: string, options: ErrorOptions): BuildctlError =>
  new BuildctlError('invalid_data', message, options);
export const failedError = (message: string, options: ErrorOptions): BuildctlError =>
  new BuildctlError('failed', message, options);

export const isBuildctlError = (error: unknown): error is BuildctlError =>
  error instanceof BuildctlError;
