// Shell completion scripts generated from the command tree itself: every command, its
// subcommands and options, so a new command or flag completes without editing a script.
// The tree is read from commander's definitions; each shell gets a small walker that
// finds the (sub)command being typed and a table of what completes there.
import type { Command } from 'commander';

export interface OptionNode {
  flags: string[];
  description: string;
  /** Whether the option is followed by a value (then nothing of ours completes after it). */
  takesValue: boolean;
  /** Whether its value is a path (complete file names). */
  path: boolean;
}

export interface CommandNode {
  /** Words from the root: [] for the root, ['lock', 'break']. */
  path: string[];
  description: string;
  subcommands: CommandNode[];
  options: OptionNode[];
  /** Values of the first argument when it has a fixed set (completion bash|zsh|fish). */
  choices: string[];
}

const PATH_VALUE = /<(dir|path|file)>|--(store|log-file|unit-dir)\b/;

/** The tree below `command` (hidden options left out; --help added, as commander adds it). */
export const commandTree = (command: Command, path: string[] = []): CommandNode => ({
  path,
  description: command.description().split('\n')[0] ?? '',
  subcommands: command.commands.map((sub) => commandTree(sub, [...path, sub.name()])),
  options: [
    ...command.options
      .filter((o) => !o.hidden)
      .map((o) => ({
        flags: [o.short, o.long].filter((f): f is string => f !== undefined),
        description: o.description,
        takesValue: o.required || o.optional,
        path: PATH_VALUE.test(o.flags),
      })),
    { flags: ['-h', '--help'], description: 'show help', takesValue: false, path: false },
  ],
  choices: command.registeredArguments[0]?.argChoices ?? [],
});

const walk = (node: CommandNode): CommandNode[] => [node, ...node.subcommands.flatMap(walk)];

/** The root's options that apply to every command (its --help is each command's own). */
const globalOptions = (root: CommandNode): OptionNode[] => root.options.filter((o) => !o.flags.includes('--help'));

/** Global options of the root that take a value, which the walkers skip with their value. */
const rootValueFlags = (root: CommandNode): string[] => root.options.filter((o) => o.takesValue).flatMap((o) => o.flags);

// ---- bash -----------------------------------------------------------------------------

const bashQuote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

const bashCase = (entries: ReadonlyArray<[string, string]>): string =>
  entries.map(([key, value]) => `    ${bashQuote(key)}) echo ${bashQuote(value)} ;;`).join('\n');

/** Table keys: the program name and the words of the command (`buildctl lock break`). */
const keyOf = (name: string) => (n: CommandNode): string => [name, ...n.path].join(' ');

const bashFor = (name: string, root: CommandNode, names: readonly string[] = [name]): string => {
  const nodes = walk(root);
  const key = keyOf(name);
  const fn = `_${name.replace(/\W/g, '_')}`;
  const valueFlags = nodes.flatMap((n) => n.options.filter((o) => o.takesValue).map((o) => [key(n), o] as const));
  return `${fn}_subcommands() {
  case "$1" in
${bashCase(nodes.filter((n) => n.subcommands.length > 0).map((n) => [key(n), n.subcommands.map((s) => s.path.at(-1)).join(' ')]))}
  esac
}
${fn}_options() {
  case "$1" in
${bashCase(nodes.map((n) => [key(n), n.options.flatMap((o) => o.flags).join(' ')]))}
  esac
}
${fn}_choices() {
  case "$1" in
${bashCase(nodes.filter((n) => n.choices.length > 0).map((n) => [key(n), n.choices.join(' ')]))}
  esac
}
# What follows an option: 1 a value, 2 a path, nothing: it is a flag.
${fn}_value() {
  case "$1|$2" in
${valueFlags.flatMap(([k, o]) => o.flags.map((f) => `    ${bashQuote(`${k}|${f}`)}) echo ${o.path ? 2 : 1} ;;`)).join('\n')}
  esac
}
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="" cmdpath=${bashQuote(name)} i w
  (( COMP_CWORD > 0 )) && prev="\${COMP_WORDS[COMP_CWORD-1]}"
  for (( i = 1; i < COMP_CWORD; i++ )); do
    w="\${COMP_WORDS[i]}"
    case "$w" in
      --) return 0 ;;
      ${rootValueFlags(root).join('|') || '--never'}) (( i++ )); continue ;;
      -*) continue ;;
    esac
    case " $(${fn}_subcommands "$cmdpath") " in
      *" $w "*) cmdpath="$cmdpath $w" ;;
    esac
  done
  local kind="$(${fn}_value "$cmdpath" "$prev")"
  [[ -z "$kind" ]] && kind="$(${fn}_value ${bashQuote(name)} "$prev")"
  if [[ "$kind" == 2 ]]; then COMPREPLY=( $(compgen -f -- "$cur") ); return 0; fi
  if [[ "$kind" == 1 ]]; then COMPREPLY=(); return 0; fi
  if [[ "$cur" == -* ]]; then
    local words="$(${fn}_options "$cmdpath")"
    [[ "$cmdpath" != ${bashQuote(name)} ]] && words="$words ${globalOptions(root).flatMap((o) => o.flags).join(' ')}"
    COMPREPLY=( $(compgen -W "$words" -- "$cur") )
  else
    COMPREPLY=( $(compgen -W "$(${fn}_subcommands "$cmdpath") $(${fn}_choices "$cmdpath")" -- "$cur") )
  fi
  return 0
}
complete -F ${fn} ${names.join(' ')}`;
};

// ---- zsh ------------------------------------------------------------------------------

const zshQuote = bashQuote;
/** `name:description` for _describe, with colons in the name escaped. */
const described = (name: string, description: string): string => `${name.replace(/:/g, '\\:')}:${description.replace(/\n/g, ' ')}`;

const zshFor = (name: string, root: CommandNode): string => {
  const nodes = walk(root);
  const key = keyOf(name);
  const fn = `_${name.replace(/\W/g, '_')}`;
  // Key-value pairs: in `table['key']=value` zsh would keep the quotes as part of the key.
  const assign = (table: string, entries: ReadonlyArray<[string, string]>) => entries.map(([k, v]) => `${table}+=( ${zshQuote(k)} ${zshQuote(v)} )`).join('\n');
  return `typeset -gA ${fn}_sub ${fn}_names ${fn}_opt ${fn}_value
${assign(`${fn}_sub`, nodes.filter((n) => n.subcommands.length > 0).map((n) => [key(n), n.subcommands.map((s) => described(s.path.at(-1) ?? '', s.description)).join('\n')]))}
${assign(`${fn}_names`, nodes.filter((n) => n.subcommands.length > 0).map((n) => [key(n), n.subcommands.map((s) => s.path.at(-1)).join(' ')]))}
${assign(`${fn}_sub`, nodes.filter((n) => n.choices.length > 0).map((n) => [key(n), n.choices.map((c) => described(c, '')).join('\n')]))}
${assign(`${fn}_opt`, nodes.map((n) => [key(n), n.options.flatMap((o) => o.flags.map((f) => described(f, o.description))).join('\n')]))}
${assign(`${fn}_value`, nodes.flatMap((n) => n.options.filter((o) => o.takesValue).flatMap((o) => o.flags.map((f): [string, string] => [`${key(n)}|${f}`, o.path ? '2' : '1']))))}
${fn}() {
  local cmdpath=${zshQuote(name)} i w kind
  local -a entries
  for (( i = 2; i < CURRENT; i++ )); do
    w="\${words[i]}"
    case "$w" in
      --) return 0 ;;
      ${rootValueFlags(root).join('|') || '--never'}) (( i++ )); continue ;;
      -*) continue ;;
    esac
    [[ " \${${fn}_names[$cmdpath]} " == *" $w "* ]] && cmdpath="$cmdpath $w"
  done
  kind="\${${fn}_value[$cmdpath|\${words[CURRENT-1]}]:-\${${fn}_value[${name}|\${words[CURRENT-1]}]}}"
  if [[ "$kind" == 2 ]]; then _files; return; fi
  if [[ "$kind" == 1 ]]; then return 1; fi
  if [[ "$PREFIX" == -* ]]; then
    entries=( "\${(@f)${fn}_opt[$cmdpath]}" )
    [[ "$cmdpath" != ${zshQuote(name)} ]] && entries+=( ${globalOptions(root).flatMap((o) => o.flags.map((f) => zshQuote(described(f, o.description)))).join(' ')} )
    _describe -t options option entries
  else
    entries=( "\${(@f)${fn}_sub[$cmdpath]}" )
    (( \${#entries} )) && [[ -n "\${entries[1]}" ]] && _describe -t commands command entries
  fi
}
compdef ${fn} ${name}`;
};

// ---- fish -----------------------------------------------------------------------------

const fishQuote = (text: string): string => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

const fishFor = (name: string, root: CommandNode, command = name): string => {
  const nodes = walk(root);
  const key = keyOf(name);
  const fn = `__${name.replace(/\W/g, '_')}`;
  const lines = [
    `function ${fn}_subcommands`,
    '    switch "$argv[1]"',
    ...nodes.filter((n) => n.subcommands.length > 0).flatMap((n) => [`        case ${fishQuote(key(n))}`, `            printf '%s\\n' ${n.subcommands.map((s) => s.path.at(-1) ?? '').join(' ')}`]),
    '    end',
    'end',
    `function ${fn}_path`,
    '    set -l tokens (commandline -opc)',
    '    set -e tokens[1]',
    `    set -l cmdpath ${fishQuote(name)}`,
    '    set -l skip 0',
    '    for t in $tokens',
    '        if test $skip -eq 1',
    '            set skip 0',
    '            continue',
    '        end',
    '        switch $t',
    '            case --',
    '                break',
    ...(rootValueFlags(root).length > 0 ? [`            case ${rootValueFlags(root).join(' ')}`, '                set skip 1', '                continue'] : []),
    "            case '-*'",
    '                continue',
    '        end',
    `        if contains -- $t (${fn}_subcommands "$cmdpath")`,
    '            set cmdpath (string trim -- "$cmdpath $t")',
    '        end',
    '    end',
    '    echo $cmdpath',
    'end',
    `function ${fn}_at`,
    `    set -l p (${fn}_path)`,
    '    test "$p" = "$argv[1]"',
    'end',
    `complete -c ${command} -f`,
  ];
  for (const node of nodes) {
    const at = `-n ${fishQuote(`${fn}_at ${fishQuote(key(node))}`)}`;
    for (const sub of node.subcommands) lines.push(`complete -c ${command} ${at} -a ${fishQuote(sub.path.at(-1) ?? '')} -d ${fishQuote(sub.description)}`);
    for (const choice of node.choices) lines.push(`complete -c ${command} ${at} -a ${fishQuote(choice)}`);
    // Global options complete everywhere; a command's own only at that command.
    const where = node.path.length === 0 ? '' : `${at} `;
    for (const option of node.options) {
      const flags = option.flags.map((f) => (f.startsWith('--') ? `-l ${f.slice(2)}` : `-s ${f.slice(1)}`)).join(' ');
      lines.push(`complete -c ${command} ${where}${flags}${option.takesValue ? (option.path ? ' -r -F' : ' -r') : ''} -d ${fishQuote(option.description)}`);
    }
  }
  return lines.join('\n');
};

export type Shell = 'bash' | 'zsh' | 'fish';
export const SHELLS: readonly Shell[] = ['bash', 'zsh', 'fish'];

/** The completion script for `shell`, for buildctl and (its options) sm / sendmessages. */
export const completionScript = (shell: Shell, buildctl: CommandNode, sm: CommandNode): string => {
  const header = `# ${shell} completion for buildctl, sm and sendmessages, generated by "buildctl completion ${shell}".\n`;
  if (shell === 'bash') return `${header}${bashFor('buildctl', buildctl)}\n${bashFor('sm', sm, ['sm', 'sendmessages'])}\n`;
  if (shell === 'zsh') return `#compdef buildctl sm sendmessages\n${header}${zshFor('buildctl', buildctl)}\n${zshFor('sm', sm)}\ncompdef _sm sendmessages\n`;
  return `${header}${fishFor('buildctl', buildctl)}\n${fishFor('sm', sm)}\n${fishFor('sm', sm, 'sendmessages')}\n`;
};
