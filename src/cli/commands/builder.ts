import { Option, type Command } from 'commander';
import { mutationJson, readJson } from '../output.js';
import { buildContext, collect, printJson, table, type Runtime } from '../runtime.js';

export const registerBuilder = (program: Command, runtime: Runtime): void => {
  const builder = program.command('builder').description('the fleet registry (coordination/builders.json)');

  builder
    .command('add')
    .description('register a builder, or update the fields given for one already registered')
    .argument('<id>', 'builder id: lowercase letter, then lowercase letters, digits or "-" (at most 32)')
    .option('--host <name>', 'its host name (lets the builder find its id from its hostname)')
    .option('--ip <address>', 'its address, for operators')
    .option('--manager <who>', 'who or what runs it')
    .option('--label <label>', 'a label jobs can require (repeatable)', collect)
    .option('--disabled', 'disable it: it takes no jobs (job claim is refused) until enabled again')
    .addOption(new Option('--enabled', 'enable it again (a new builder is enabled)').conflicts('disabled'))
    .option('--json', 'print the result as JSON')
    .action(async (id: string, options: { host?: string; ip?: string; manager?: string; label?: string[]; disabled?: boolean; enabled?: boolean; json?: boolean }, command: Command) => {
      const { addBuilders } = await import('../../ops/builders.js');
      const enabled = options.enabled ? true : options.disabled ? false : undefined;
      const added = await addBuilders(buildContext(runtime, command), [
        { id, host: options.host, ip: options.ip, manager: options.manager, labels: options.label, enabled },
      ]);
      const [entry] = added.results;
      if (options.json) return printJson(runtime, mutationJson('builder', entry?.builder ?? null, added));
      runtime.out(`${entry?.outcome ?? 'unchanged'} builder ${id}`);
    });

  builder
    .command('list')
    .description('list registered builders')
    .option('--no-fetch', 'use the last fetched state, do not contact the remote')
    .option('--json', 'print as JSON')
    .action(async (options: { fetch: boolean; json?: boolean }, command: Command) => {
      const { listBuilders } = await import('../../ops/builders.js');
      const builders = await listBuilders(buildContext(runtime, command), { fetch: options.fetch });
      if (options.json) return printJson(runtime, readJson('builders', builders));
      if (builders.length === 0) return runtime.out('no builders registered (add one with: buildctl builder add ID)');
      runtime.out(
        table(
          ['ID', 'HOST', 'IP', 'LABELS', 'ENABLED'],
          builders.map((b) => [b.id, b.host ?? '-', b.ip ?? '-', b.labels.join(',') || '-', b.enabled ? 'yes' : 'no']),
        ),
      );
    });

  registerKey(builder, runtime);

  builder
    .command('remove')
    .description('remove a builder from the registry (its files stay in the store)')
    .argument('<id>', 'builder id')
    .option('--json', 'print the removed entry as JSON')
    .action(async (id: string, options: { json?: boolean }, command: Command) => {
      const { removeBuilderOp } = await import('../../ops/builders.js');
      const removed = await removeBuilderOp(buildContext(runtime, command), id);
      if (options.json) return printJson(runtime, mutationJson('builder', removed.builder, removed));
      runtime.out(`removed builder ${removed.builder.id}`);
    });
};

const registerKey = (builder: Command, runtime: Runtime): void => {
  const key = builder.command('key').description("builders' and operators' signing keys (coordination/signers.json)");

  key
    .command('add')
    .description("register a public key for a builder (default: this clone's own key), or an operator's key")
    .argument('<id>', 'the builder (or, with --operator, the operator\'s name) the key signs for')
    .option('--key <key>', 'the public key: its .pub line, or the path of its .pub file (default: this clone\'s key)')
    .option('--operator', 'an operator key: it may sign operator actions (--force, lock break, settings, key changes for others)')
    .option('--json', 'print the key as JSON')
    .addHelpText('after', `
Who may add a key: an operator key, for anyone; a builder's own key, for itself (a second
key, before revoking the first); or a builder's first key, signed by that key, while
require_signed_writes is off. Anything else is refused (no reader would count it).

Examples:
  buildctl --as build1 builder key add build1            register this clone's key for build1
  buildctl builder key add alice --operator --key ~/.ssh/buildctl.pub`)
    .action(async (id: string, options: { key?: string; operator?: boolean; json?: boolean }, command: Command) => {
      const { addKeyOp } = await import('../../ops/signers.js');
      const result = await addKeyOp(buildContext(runtime, command), { id, key: options.key, operator: options.operator });
      if (options.json) return printJson(runtime, mutationJson('key', { id, ...result.key }, result));
      runtime.out(`${result.outcome === 'unchanged' ? 'unchanged' : result.outcome}: ${result.key.operator ? 'operator ' : ''}key ${result.key.fingerprint} for ${id}`);
    });

  key
    .command('revoke')
    .description('revoke a key: its signatures on later changes count as forged; earlier ones stay verified')
    .argument('<id>', 'the builder or operator whose key it is')
    .option('--key <fingerprint>', 'which key (SHA256:...), when it has more than one')
    .option('--reason <text>', 'why (kept in coordination/signers.json)')
    .option('--json', 'print the revoked key as JSON')
    .action(async (id: string, options: { key?: string; reason?: string; json?: boolean }, command: Command) => {
      const { revokeKeyOp } = await import('../../ops/signers.js');
      const result = await revokeKeyOp(buildContext(runtime, command), { id, key: options.key, reason: options.reason });
      if (options.json) return printJson(runtime, mutationJson('key', { id, ...result.key }, result));
      runtime.out(`revoked key ${result.key.fingerprint} of ${id}`);
    });

  key
    .command('list')
    .description('every registered key, with whether history counts it (active, revoked, not trusted)')
    .option('--allowed-signers', 'print a git allowed-signers file instead (for git log --show-signature)')
    .option('--no-fetch', 'use the last fetched state')
    .option('--json', 'print as JSON')
    .action(async (options: { allowedSigners?: boolean; fetch: boolean; json?: boolean }, command: Command) => {
      const { allowedSigners, listKeysOp } = await import('../../ops/signers.js');
      const list = await listKeysOp(buildContext(runtime, command), { fetch: options.fetch });
      if (options.json) return printJson(runtime, readJson('keys', list));
      if (options.allowedSigners) return runtime.out(allowedSigners(list) || '# no keys registered');
      if (list.keys.length === 0) runtime.out('no keys registered (buildctl builder key add ID)');
      else {
        runtime.out(
          table(
            ['ID', 'FINGERPRINT', 'OPERATOR', 'STANDING', 'ADDED', 'REVOKED'],
            list.keys.map((k) => [k.id, k.fingerprint, k.operator ? 'yes' : 'no', k.standing, k.added_at, k.revoked_at ?? '-']),
          ),
        );
      }
      runtime.out(`require_signed_writes: ${list.require_signed_writes ? 'on' : 'off'}; this clone signs with ${list.this_clone ? `${list.this_clone.fingerprint} (${list.this_clone.path})` : 'no key'}`);
    });
};
