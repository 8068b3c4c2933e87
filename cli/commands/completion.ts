/**
 * `mlruns completion [bash|zsh|fish]`: prints the completion script of a shell. Each script asks
 * `mlruns --get-yargs-completions <words>` for candidates, telling it the shell (SHELL=…) so the
 * candidates come in that shell's format (cli/completion.ts).
 */
import { defineCommand } from "../command.ts";
import { currentShell, SHELLS, type Shell } from "../completion.ts";
import { write } from "../output.ts";

const SCRIPTS: Record<Shell, string> = {
  bash: `# mlruns completion for bash: add to ~/.bashrc with  mlruns completion bash >> ~/.bashrc
_mlruns_complete() {
  local current="\${COMP_WORDS[COMP_CWORD]}" IFS=$'\\n'
  local -a words=($(SHELL=bash mlruns --get-yargs-completions "\${COMP_WORDS[@]:0:COMP_CWORD+1}" 2>/dev/null))
  COMPREPLY=($(compgen -W "\${words[*]}" -- "$current"))
}
complete -o bashdefault -o default -F _mlruns_complete mlruns
`,
  zsh: `#compdef mlruns
# mlruns completion for zsh: add to ~/.zshrc with  mlruns completion zsh >> ~/.zshrc
_mlruns_complete() {
  local -a candidates
  candidates=("\${(@f)$(SHELL=zsh mlruns --get-yargs-completions "\${(@)words[1,CURRENT]}" 2>/dev/null)}")
  if (( \${#candidates} )) && [[ -n "\${candidates[1]}" ]]; then
    _describe 'mlruns' candidates
  else
    _default
  fi
}
compdef _mlruns_complete mlruns
`,
  fish: `# mlruns completion for fish: mlruns completion fish > ~/.config/fish/completions/mlruns.fish
complete -c mlruns -f -a '(env SHELL=fish mlruns --get-yargs-completions (commandline -opc) (commandline -ct) 2>/dev/null)'
`,
};

export const completion = defineCommand<{ shell?: Shell }>({
  command: "completion [shell]",
  describe: "Print the shell completion script (bash, zsh or fish)",
  builder: (y) =>
    y
      .positional("shell", { choices: SHELLS, describe: "default: the shell of $SHELL" })
      .example("$0 completion bash >> ~/.bashrc", "bash: commands, options, run ids and names")
      .example("$0 completion zsh >> ~/.zshrc", "zsh")
      .example("$0 completion fish > ~/.config/fish/completions/mlruns.fish", "fish"),
  async handler(args) {
    write(SCRIPTS[args.shell ?? currentShell()]);
  },
});
