// The agent: every tick a heartbeat on the builder's ref, then housekeeping on main, then
// one structured log line. `--once` is one tick (what cron runs); otherwise node-cron ticks
// on the fleet's schedule until SIGTERM / SIGINT, which let the current tick finish.
import { rename, stat } from 'node:fs/promises';
import { effectiveSettings } from '../domain/config.js';
import { BuildctlError, usageError } from '../errors.js';
import { commonJsExports } from '../interop.js';
import { redactCredentials } from '../redact.js';
import { docs } from '../schemas/layout.js';
import { withLocalLock } from '../store/local-lock.js';
import { dropReplacedHeartbeats, type MaintenanceReport } from '../store/maintenance.js';
import { fetchAll, openStore } from '../store/store.js';
import type { Context } from './context.js';
import { heartbeat, type HeartbeatResult } from './heartbeat.js';
import { housekeepingOp, type HousekeepingOutcome } from './housekeeping.js';
import { resolveActor } from './identity.js';
import { deliverNotifications, type NotifyReport } from './notify.js';
import { readLastFetched } from './read.js';

export interface StepError {
  error: string;
  code: string;
  exit_code: number;
}

export interface TickReport {
  builder: string;
  duration_ms: number;
  heartbeat: Omit<HeartbeatResult, 'system'> | StepError;
  housekeeping: HousekeepingOutcome | StepError;
  /**
   * The events this tick's housekeeping recorded, and earlier ones waiting for a retry, sent
   * within notify_timeout. Never fails the tick: failures are retried, then recorded.
   */
  notifications: NotifyReport | StepError;
  /** Step 4: removing the heartbeats replaced more than a few minutes ago; never fails the tick, takes no lock. */
  maintenance: MaintenanceReport;
  exit_code: number;
}

const asStepError = (error: unknown): StepError => {
  if (error instanceof BuildctlError) return { error: error.message, code: error.code, exit_code: error.exitCode };
  return { error: error instanceof Error ? error.message : String(error), code: 'unexpected', exit_code: 1 };
};

const stepError = (step: object): step is StepError => 'error' in step;

/** One tick. Steps fail independently: a dead remote for the heartbeat does not skip housekeeping. */
export const tick = async (ctx: Context): Promise<TickReport> => {
  const started = Date.now();
  const store = await openStore(ctx.storeDir);
  const { id } = await resolveActor(ctx);
  return withLocalLock(
    store.stateDir,
    async () => {
      // Housekeeping's fetch runs beside the beat (15% of an idle tick on 200 builders). It
      // leaves this builder's own beat to the push, which moves its tracking ref (store.ts
      // fetchAll), and loses nothing by it: the push's lease compares what the remote has
      // first, and when another writer moved it the heartbeat reads theirs (a duplicate agent).
      const from = ctx.now();
      const fetched = { from, done: fetchAll(store, from, { except: id }) };
      fetched.done.catch(() => undefined);
      const beat = await heartbeat(ctx).then(({ system: _system, ...rest }) => rest, asStepError);
      const housekeeping = await housekeepingOp(ctx, store, id, fetched).catch(asStepError);
      const notifications = await deliverNotifications(ctx, store, stepError(housekeeping) ? [] : housekeeping.events, id).catch(asStepError);
      const maintenance = await dropReplacedHeartbeats(store, { now: ctx.now(), monotonic: ctx.monotonic });
      const failures = [beat, housekeeping].filter(stepError);
      // A dead remote is the most common failure and the one cron should tell apart (4); a
      // duplicate agent beat, but is a failure to fix (1).
      const duplicate = !stepError(beat) && beat.duplicate !== null;
      const exitCode = failures.some((f) => f.exit_code === 4) ? 4 : (failures[0]?.exit_code ?? (duplicate ? 1 : 0));
      return { builder: id, duration_ms: Date.now() - started, heartbeat: beat, housekeeping, notifications, maintenance, exit_code: exitCode };
    },
    { name: 'agent', waitMs: 0, busyMessage: 'another agent tick is running on this store; this one is skipped' },
  );
};

export interface AgentOptions {
  once: boolean;
  /**
   * With `once`: tick only when the fleet's schedule selects this minute (what the crontab
   * line runs every minute), so `config set schedule` reaches cron agents without a reinstall.
   */
  ifScheduled?: boolean | undefined;
  schedule?: string | undefined;
  logFile?: string | undefined;
}

/** A log file this large is moved to `<file>.1` (replacing the older one) before the next tick logs. */
export const LOG_ROTATE_BYTES = 10 * 2 ** 20;

/** Moves a full log aside. Never fails a tick: a log that cannot be rotated keeps growing. */
const rotateLog = async (logFile: string): Promise<boolean> => {
  const size = (await stat(logFile).catch(() => undefined))?.size ?? 0;
  if (size < LOG_ROTATE_BYTES) return false;
  return rename(logFile, `${logFile}.1`).then(() => true, () => false);
};

type Logger = {
  info: (object: object, message: string) => void;
  warn: (object: object, message: string) => void;
  error: (object: object, message: string) => void;
  flush: () => void;
  /** Before each tick: rotate the log file when it has grown past LOG_ROTATE_BYTES. */
  rotate: () => Promise<void>;
};

export const makeLogger = async (logFile: string | undefined): Promise<Logger> => {
  const pino = (await import('pino')).default;
  const destination = logFile ? pino.destination({ dest: logFile, append: true, sync: true, mkdir: true }) : pino.destination({ dest: 2, sync: true });
  // Like everything buildctl prints, the log never holds a URL's password or token.
  const logger = pino({ base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime, hooks: { streamWrite: redactCredentials } }, destination);
  return {
    info: (o, m) => logger.info(o, m),
    warn: (o, m) => logger.warn(o, m),
    error: (o, m) => logger.error(o, m),
    flush: () => logger.flush(),
    rotate: async () => {
      if (logFile && (await rotateLog(logFile))) destination.reopen();
    },
  };
};

const logTick = (logger: Logger, report: TickReport): void => {
  const line = { builder: report.builder, duration_ms: report.duration_ms, heartbeat: report.heartbeat, housekeeping: report.housekeeping, notifications: report.notifications, maintenance: report.maintenance, exit_code: report.exit_code };
  if (report.exit_code === 0) logger.info(line, 'tick');
  else logger.error(line, 'tick failed');
  if (!stepError(report.heartbeat) && report.heartbeat.duplicate) {
    const d = report.heartbeat.duplicate;
    logger.error({ builder: report.builder, duplicate: d }, `duplicate agent: another agent beats as ${report.builder} (host ${d.other_host ?? '?'}, pid ${d.other_pid ?? '?'}); stop the one that is not ${report.builder}`);
  }
  // A builder whose clock is far off is worth its own line: it is the first thing to fix.
  const skew = stepError(report.housekeeping) ? [] : report.housekeeping.clock_skew;
  for (const { builder, offset_seconds } of skew) {
    logger.warn({ builder, clock_offset_seconds: offset_seconds }, `clock skew: ${builder}'s clock is ${Math.abs(offset_seconds)}s ${offset_seconds > 0 ? 'ahead of' : 'behind'} this host's (beyond max_clock_skew)`);
  }
};

/**
 * Whether a schedule selects the minute `now` falls in, at any of its seconds (cron starts
 * --once at second 0, and the process starts a moment later). An expression the scheduler
 * cannot read (a store from before `config set` checked them) selects every minute: a
 * builder keeps beating rather than fall silent.
 */
const scheduledThisMinute = async (expression: string, now: Date): Promise<boolean> => {
  const cron = commonJsExports(await import('node-cron'));
  if (!cron.validate(expression)) return true;
  const minute = Math.floor(now.getTime() / 60_000) * 60_000;
  const task = cron.createTask(expression, () => undefined);
  try {
    return cron.parse(expression).second.some((second) => task.match(new Date(minute + second * 1000)));
  } finally {
    void task.destroy();
  }
};

/** The schedule: --schedule, else the fleet's `schedule` setting from this clone's copy of main. */
const scheduleOf = async (ctx: Context, given: string | undefined): Promise<string> => {
  if (given) return given;
  const [config] = await readLastFetched(await openStore(ctx.storeDir), docs.config);
  return effectiveSettings(config).schedule;
};

export const runAgent = async (ctx: Context, options: AgentOptions): Promise<number> => {
  const logger = await makeLogger(options.logFile);
  const once = async (): Promise<number> => {
    await logger.rotate();
    try {
      const report = await tick(ctx);
      logTick(logger, report);
      return report.exit_code;
    } catch (error) {
      const failure = asStepError(error);
      logger.error({ ...failure }, 'tick not run');
      return failure.exit_code;
    }
  };
  if (options.once) {
    if (options.ifScheduled && !(await scheduledThisMinute(await scheduleOf(ctx, options.schedule), ctx.now()))) return 0;
    return once();
  }

  const cron = commonJsExports(await import('node-cron'));
  let expression = await scheduleOf(ctx, options.schedule);
  if (!cron.validate(expression)) {
    throw usageError(`invalid schedule "${expression}"`, { code: 'invalid_schedule', hint: 'a cron expression such as "* * * * *" (every minute) or "*/30 * * * * *" (every 30 s)' });
  }
  await openStore(ctx.storeDir);
  await resolveActor(ctx);
  logger.info({ schedule: expression, store: ctx.storeDir }, 'agent started');
  let running: Promise<number> = Promise.resolve(0);
  const start = (pattern: string) => cron.schedule(pattern, onTick, { noOverlap: true, name: 'buildctl-agent' });
  // After each tick (whose housekeeping fetched main), the fleet's schedule as it is now:
  // a changed one replaces the running schedule. An explicit --schedule stays.
  const follow = async (): Promise<void> => {
    if (options.schedule) return;
    const next = await scheduleOf(ctx, undefined).catch(() => expression);
    if (next === expression || !cron.validate(next)) return;
    logger.info({ schedule: next, was: expression }, 'schedule changed: rescheduled');
    const old = task;
    expression = next;
    task = start(next);
    // Not from inside its own callback: the old task is stopped once this tick has returned.
    setImmediate(() => void Promise.resolve(old.stop()).then(() => old.destroy()));
  };
  function onTick(): Promise<number> {
    running = once().then(async (code) => {
      await follow();
      return code;
    });
    return running;
  }
  let task = start(expression);
  // `on`, not `once`: a listener that removes itself would leave signal-exit (loaded with
  // proper-lockfile) believing nobody handles the signal, and it would re-raise it.
  let onSignal: (signal: NodeJS.Signals) => void = () => undefined;
  const stopped = new Promise<NodeJS.Signals>((resolve) => (onSignal = resolve));
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const signal = await stopped;
  await task.stop();
  await running;
  await task.destroy();
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  logger.info({ signal }, 'agent stopped');
  logger.flush();
  return 0;
};
