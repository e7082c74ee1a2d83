// What an operation needs from the outside world, built once by the CLI (or a test) and
// passed down: no operation reads the environment or the clock on its own.
export interface Context {
  /** The store clone's directory. */
  storeDir: string;
  /** --as, when given. */
  asFlag?: string | undefined;
  /** BUILD_SERVER_ID, when set. */
  envBuilderId?: string | undefined;
  /** Where the host-wide builder id lives (normally /etc/build_server_id). */
  etcIdFile: string;
  hostname: string;
  now: () => Date;
  /**
   * A clock that only moves forward, in ms (performance.now()): for measuring a lease or a
   * wait on this host, which a wall-clock step must not stretch or shrink.
   */
  monotonic: () => number;
  /** A warning or progress line for stderr. */
  warn: (line: string) => void;
  /**
   * --allow-secret-like: commit values that look like credentials (a false alarm),
   * recorded in the commit's trailer. Absent or false: they are refused.
   */
  allowSecretLike?: boolean | undefined;
  /**
   * The environment, for what each builder keeps out of the repository (notification
   * secrets named by `secret_env` / `url_env`). Absent: an empty one.
   */
  env?: Readonly<Record<string, string | undefined>> | undefined;
}
