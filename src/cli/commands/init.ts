import type { Command } from 'commander';
import { mutationJson } from '../output.js';
import { buildContext, collect, printJson, type Runtime } from '../runtime.js';

export const registerInit = (program: Command, runtime: Runtime): void => {
  program
    .command('init')
    .description('create the store (or clone an existing one) and register builders; safe to run again')
    .option('--remote <url>', 'the fleet\'s remote to clone; without it a local bare repository beside the store becomes the remote')
    .option('--builder <id>', 'register this builder too (repeatable)', collect, [])
    .option('--signing-key <path>', "where this clone's signing key is kept (created there when missing; default: .git/buildctl/signing-key in the clone)")
    .option('--json', 'print the result as JSON')
    .addHelpText('after', `
Examples:
  buildctl init                                   one machine, embedded remote at <store>.git
  buildctl init --builder build1 --builder build2
  buildctl init --remote git@git.example:ops/fleet.git --store /srv/buildctl/store

Every clone gets an ed25519 signing key (kept out of the store); every commit it makes is
signed with it. Run as a registered builder (--as ID), init registers the key for it.`)
    .action(async (options: { remote?: string; builder: string[]; signingKey?: string; json?: boolean }, command: Command) => {
      const { initStore } = await import('../../ops/init.js');
      const report = await initStore(buildContext(runtime, command), {
        remote: options.remote,
        builders: options.builder.map((id) => ({ id })),
        signingKey: options.signingKey,
      });
      const { store, remote, embedded_remote, actions, builders, signing_key } = report;
      if (options.json) return printJson(runtime, mutationJson('store', { dir: store, remote, embedded_remote, actions, builders, signing_key }, report));
      runtime.out(`store ${report.store}\nremote ${report.remote}${report.embedded_remote ? ' (embedded)' : ''}`);
      runtime.out(`signing key ${signing_key.path} (${signing_key.fingerprint})${signing_key.registered_for ? `, registered for ${signing_key.registered_for}` : ', not registered (buildctl builder key add ID)'}`);
      if (!report.changed) return runtime.out('already initialised: nothing changed');
      for (const action of report.actions) runtime.out(`- ${action}`);
    });
};
