import type { Argv, CommandModule } from 'yargs';
import type { CliContext } from '../io.js';
import { describeOf } from './index.js';

export const COMPLETION_SHELLS = ['bash', 'zsh', 'fish'] as const;
type Shell = (typeof COMPLETION_SHELLS)[number];

// Each script asks `linus --get-yargs-completions <words so far>` for the candidates (yargs'
// completion, which knows every command, subcommand, flag and choice). SHELL is set for that call
// because yargs words its answer for the shell SHELL names: plain, zsh's name:description or
// fish's name<TAB>description, and a login shell is not always the one completing.
const SCRIPTS: Record<Shell, string> = {
  bash: `###-begin-linus-completions-###
# linus completion for bash. Load it now: source <(linus completion bash)
# or for good: linus completion bash > ~/.local/share/bash-completion/completions/linus
_linus_completions() {
  local cur_word=\${COMP_WORDS[COMP_CWORD]}
  local -a candidates
  mapfile -t candidates < <(SHELL=bash linus --get-yargs-completions "\${COMP_WORDS[@]:0:COMP_CWORD+1}" 2>/dev/null)
  mapfile -t COMPREPLY < <(compgen -W "\${candidates[*]}" -- "$cur_word")
}
complete -o bashdefault -o default -F _linus_completions linus
###-end-linus-completions-###
`,
  zsh: `#compdef linus
###-begin-linus-completions-###
# linus completion for zsh. Load it now: source <(linus completion zsh)
# or for good: linus completion zsh > "\${fpath[1]}/_linus"
_linus_completions() {
  local reply
  local si=$IFS
  IFS=$'\\n' reply=($(SHELL=zsh linus --get-yargs-completions "\${(@)words[1,CURRENT]}" 2>/dev/null))
  IFS=$si
  if [[ \${#reply} -gt 0 ]]; then
    _describe 'values' reply
  else
    _default
  fi
}
if [[ "\${zsh_eval_context[-1]}" == "loadautofunc" ]]; then
  _linus_completions "$@"
else
  compdef _linus_completions linus
fi
###-end-linus-completions-###
`,
  fish: `###-begin-linus-completions-###
# linus completion for fish: linus completion fish > ~/.config/fish/completions/linus.fish
function __linus_completions
    set -l words (commandline -opc)
    # The word being completed, even when empty: yargs completes the last word it is given.
    set -l current (commandline -ct)
    env SHELL=fish linus --get-yargs-completions $words "$current" 2>/dev/null
end
complete -c linus -a '(__linus_completions)'
###-end-linus-completions-###
`,
};

export function completionCommand(cli: CliContext): CommandModule<object, { shell: string }> {
  return {
    command: 'completion <shell>',
    describe: describeOf('completion'),
    builder: (yargs: Argv) =>
      yargs
        .positional('shell', { type: 'string', choices: COMPLETION_SHELLS, demandOption: true, describe: 'The shell to complete in' })
        .example('source <(linus completion bash)', 'Completion in this bash session (add the line to ~/.bashrc to keep it)')
        .example('linus completion fish > ~/.config/fish/completions/linus.fish', 'Completion in every fish session'),
    handler: (argv) => void cli.io.stdout.write(SCRIPTS[argv.shell as Shell]),
  };
}
