import { Argument, type Command } from 'commander';
import { VERSION } from '../../version.js';
import { commandTree, completionScript, SHELLS, type Shell } from '../completion.js';
import type { Runtime } from '../runtime.js';
import { buildSmProgram } from '../sm.js';

export const registerCompletion = (program: Command, runtime: Runtime): void => {
  program
    .command('completion')
    .description('print a shell completion script for buildctl, sm and sendmessages (every command, subcommand and option)')
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(SHELLS))
    .addHelpText('after', `
Install:
  bash   echo 'source <(buildctl completion bash)' >> ~/.bashrc
  zsh    buildctl completion zsh > "\${fpath[1]}/_buildctl"    (or: source <(buildctl completion zsh) after compinit)
  fish   buildctl completion fish > ~/.config/fish/completions/buildctl.fish`)
    .action((shell: Shell) => {
      // main.ts registers every command when the command word is "completion": the tree is whole.
      runtime.out(completionScript(shell, commandTree(program), commandTree(buildSmProgram(runtime, 'sm', VERSION))));
    });
};
