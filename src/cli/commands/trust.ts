import type { Command } from 'commander';
import { mutationJson } from '../output.js';
import { buildContext, printJson, type Runtime } from '../runtime.js';

export const registerTrust = (program: Command, runtime: Runtime): void => {
  const trust = program.command('trust').description('signed writes: settle what require_signed_writes does not act on (see buildctl validate --signatures)');

  trust
    .command('accept')
    .description("vouch for a commit whose signature is not trusted: the fleet acts on its changes again (an operator action)")
    .argument('<commit>', 'the commit, as "buildctl validate --signatures" names it')
    .requiredOption('--reason <text>', 'why it may stand (kept in coordination/signers.json)')
    .option('--json', 'print the acceptance as JSON')
    .addHelpText('after', `
Only an operator key's acceptance counts. Check first that the change is right: the
builder it speaks for can confirm it, or set its state again itself instead.`)
    .action(async (commit: string, options: { reason: string; json?: boolean }, command: Command) => {
      const { acceptCommitOp } = await import('../../ops/signers.js');
      const result = await acceptCommitOp(buildContext(runtime, command), { commit, reason: options.reason });
      if (options.json) return printJson(runtime, mutationJson('accepted', result.accepted, result));
      runtime.out(`${result.changed ? 'accepted' : 'already accepted'}: ${result.accepted.commit} (${result.accepted.reason})`);
    });
};
