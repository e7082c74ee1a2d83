// Rendering helpers of the CLI: sparklines, the metrics table on a terminal, the watch
// loop drawing in place on a terminal, and commander's errors in buildctl's format.
import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { renderMetrics } from '../../src/cli/commands/metrics.js';
import { errorJson, errorReport } from '../../src/cli/output.js';
import type { Runtime } from '../../src/cli/runtime.js';
import { sparkline } from '../../src/cli/sparkline.js';
import { watchLoop } from '../../src/cli/watch.js';
import { metricsSince } from '../../src/domain/metrics.js';
import { usageError } from '../../src/errors.js';

describe('sparkline', () => {
  it.each([
    [[0, 50, 100], { min: 0, max: 100 }, '▁▅█'],
    [[3, 3, 3], {}, '▁▁▁'], // flat: the lowest bar, not a division by zero
    [[1, 2, 3, 4, 5, 6, 7, 8], {}, '▁▂▃▄▅▆▇█'],
    [[0, 0, 100, 100], { width: 2 }, '▁█'], // averaged down to the width
    [[], {}, ''],
  ])('%j %j', (values, options, text) => {
    expect(sparkline(values, options)).toBe(text);
  });
});

describe('renderMetrics', () => {
  it('adds a sparkline of hourly averages and one of samples only when asked (a terminal)', () => {
    const history = metricsSince(
      [
        { kind: 'hour', t: '2026-03-01T09:00:00Z', n: 60, cpu: [0, 0, 0], mem: [0, 0, 0], disk: [1, 1, 1], load: [0, 0, 0] },
        { kind: 'hour', t: '2026-03-01T10:00:00Z', n: 60, cpu: [0, 100, 100], mem: [0, 0, 0], disk: [1, 1, 1], load: [0, 0, 0] },
        { kind: 'sample', t: '2026-03-01T11:00:00Z', cpu: 0, mem: 0, disk: 1, load: 0 },
        { kind: 'sample', t: '2026-03-01T11:01:00Z', cpu: 100, mem: 0, disk: 1, load: 0 },
      ],
      undefined,
    );
    const metrics = { builder: 'build1', since: null, source: 'heartbeat/build1:build1/metrics.jsonl', skipped: [], ...history };
    const plain = renderMetrics(metrics, { sparklines: false });
    expect(plain).not.toMatch(/[▁-█]/);
    const tty = renderMetrics(metrics, { sparklines: true });
    expect(tty).toMatch(/^cpu %\s+100\s+0\s+\S+\s+100\s+▁█\s+▁█$/m);
    expect(tty).toContain('HOURLY AVG (2h)');
  });
});

describe('watchLoop', () => {
  const capture = (): Runtime & { text: () => string } => {
    let out = '';
    return { env: {}, exitCode: 0, out: (t) => void (out += t.endsWith('\n') ? t : `${t}\n`), err: () => undefined, text: () => out };
  };

  it('on a terminal redraws in place (home, erase each line, erase below) and stops on SIGINT', async () => {
    const runtime = capture();
    const listeners = process.listenerCount('SIGINT');
    let frames = 0;
    await watchLoop(runtime, {
      intervalMs: 1000,
      json: false,
      tty: true,
      title: () => 'title',
      frame: async () => {
        if (++frames === 2) setImmediate(() => process.emit('SIGINT'));
        return { json: {}, text: `frame ${frames}` };
      },
    });
    expect(frames).toBe(2);
    expect(runtime.text()).toBe('\u001b[Htitle\u001b[K\n\u001b[K\nframe 1\u001b[K\n\u001b[J\n\u001b[Htitle\u001b[K\n\u001b[K\nframe 2\u001b[K\n\u001b[J\n');
    expect(process.listenerCount('SIGINT')).toBe(listeners); // its handler is gone once it returns
  });

  it('refuses an interval under a second', async () => {
    await expect(watchLoop(capture(), { intervalMs: 999, json: false, title: () => '', frame: async () => ({ json: {}, text: '' }) })).rejects.toMatchObject({ code: 'interval_too_short' });
  });
});

describe('errorReport', () => {
  it.each([
    [new CommanderError(1, 'commander.unknownOption', "error: unknown option '--bogus'"), 'buildctl status', { exitCode: 2, code: 'unknown_option', message: "unknown option '--bogus'", hint: 'run "buildctl status --help" for usage' }],
    [new CommanderError(1, 'commander.missingMandatoryOptionValue', "error: required option '--reason <text>' not specified"), 'buildctl lock break', { exitCode: 2, code: 'missing_mandatory_option_value', message: "required option '--reason <text>' not specified" }],
    [new CommanderError(1, 'commander.unknownCommand', "error: unknown command 'stats'\n(Did you mean status?)"), 'buildctl', { exitCode: 2, code: 'unknown_command', hint: 'did you mean status? run "buildctl --help" for usage' }],
    [usageError('bad', { code: 'bad_thing', hint: 'fix it', details: { a: 1 } }), 'buildctl x', { exitCode: 2, code: 'bad_thing', message: 'bad', hint: 'fix it', details: { a: 1 } }],
    [new Error('boom'), 'buildctl x', { exitCode: 1, code: 'unexpected', message: 'unexpected error: boom' }],
  ])('%s', (error, path, expected) => {
    expect(errorReport(error, path)).toMatchObject(expected);
  });

  it('help and version are not errors', () => {
    expect(errorReport(new CommanderError(0, 'commander.version', '0.1.0'), 'buildctl')).toBeUndefined();
    expect(errorReport(new CommanderError(0, 'commander.helpDisplayed', '(outputHelp)'), 'buildctl')).toBeUndefined();
  });

  it('is the same JSON for every error', () => {
    expect(errorJson({ code: 'x', message: 'm', hint: undefined, details: undefined })).toEqual({ error: { code: 'x', message: 'm', hint: null, details: null } });
  });
});
