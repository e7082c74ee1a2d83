// The command word of a command line, shared by the start (src/cli/boot.ts, which picks the
// code cache by it) and main.ts (which loads only that command's definition). No imports:
// boot.ts must stay small.

const GLOBAL_OPTIONS_WITH_VALUE = new Set(['--store', '--as']);

/** The command word of `buildctl [global options] <command> ...`, if any. */
export const commandWord = (args: readonly string[]): string | undefined => {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--') return undefined;
    if (GLOBAL_OPTIONS_WITH_VALUE.has(arg)) i++;
    else if (!arg.startsWith('-')) return arg;
  }
  return undefined;
};
