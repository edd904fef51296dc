/**
 * The shell side of completion: small scripts that ask `<program> __complete WORDS… CURRENT` (engine.ts) at each
 * TAB and hand the candidates to the shell. The program is called as the user typed it (an alias or path works).
 */
export const SHELLS = ['bash', 'zsh', 'fish'] as const
export type Shell = (typeof SHELLS)[number]

const ident = (bin: string) => bin.replace(/[^A-Za-z0-9_]/g, '_')

function bash(bin: string): string {
  const fn = `_${ident(bin)}_complete`
  return `# bash completion for ${bin}; load with: source <(${bin} completion bash)
${fn}() {
  # The words up to the cursor as typed, quotes kept (the engine reads them as the shell will pass them). COMP_WORDS
  # keeps a quoted blank inside its word but also splits at '=' and ':', which the engine must not see: pieces with
  # no blank between them in the line are one word again.
  local line="\${COMP_LINE:0:COMP_POINT}" words=() i w blank pos=0 cur out directive c strip
  for (( i = 0; i <= COMP_CWORD; i++ )); do
    w="\${line:pos}"
    blank="\${w%%[![:space:]]*}"
    (( pos += \${#blank} ))
    w="\${COMP_WORDS[i]}"
    (( i == COMP_CWORD )) && w="\${line:pos}"
    if (( i > 0 && \${#blank} == 0 )); then words[\${#words[@]}-1]+="$w"; else words+=("$w"); fi
    (( pos += \${#w} ))
  done
  cur="\${words[\${#words[@]}-1]}"
  out=$("\${words[0]}" __complete "\${words[@]:1}" 2>/dev/null) || return 0
  directive="\${out##*:}"
  out="\${out%:*}"
  # What bash will replace: its own current word, a suffix of ours (after an '=' or ':').
  strip=$(( \${#cur} - \${#COMP_WORDS[COMP_CWORD]} ))
  (( strip < 0 )) && strip=0
  COMPREPLY=()
  local IFS=$'\\n'
  for c in $out; do
    [[ -n "$c" && "$c" == "$cur"* ]] && COMPREPLY+=("\${c:strip}")
  done
  # No candidates where a file is wanted: readline completes the file name itself (quotes a blank, knows ~, puts a
  # '/' after a directory).
  if (( \${#COMPREPLY[@]} == 0 && (directive & 4) == 0 )); then compopt -o default 2>/dev/null; fi
  if (( directive & 2 )); then compopt -o nospace 2>/dev/null; fi
  return 0
}
complete -F ${fn} ${bin}
`
}

function zsh(bin: string): string {
  const fn = `_${ident(bin)}`
  return `#compdef ${bin}
# zsh completion for ${bin}; load with: source <(${bin} completion zsh)   (after compinit)
${fn}() {
  local out directive
  local -a lines cands opts
  out=$("\${words[1]}" __complete "\${(@)words[2,CURRENT]}" 2>/dev/null) || return 1
  lines=("\${(@f)out}")
  directive="\${lines[-1]#:}"
  cands=("\${(@)lines[1,-2]}")
  cands=("\${(@)cands:#}")
  if (( \${#cands} == 0 )); then
    # A file name, after the '=' of --flag=VALUE when there is one.
    if (( (directive & 4) == 0 )); then
      [[ $PREFIX == -*=* ]] && compset -P '*='
      _files
    fi
    return
  fi
  (( directive & 2 )) && opts+=(-S '')
  compadd "\${opts[@]}" -- "\${cands[@]}"
}
if (( $+functions[compdef] )); then compdef ${fn} ${bin}; fi
`
}

function fish(bin: string): string {
  const fn = `__${ident(bin)}_complete`
  const results = `__${ident(bin)}_comp_results`
  return `# fish completion for ${bin}; load with: ${bin} completion fish | source
# The condition asks the engine; it is false where a file name is wanted and there are no candidates, so that fish
# completes the file name itself (quotes, ~, --flag=FILE).
function ${fn}
  set -l tokens (commandline -opc)
  set -l cur (commandline -ct)
  set -g ${results} ($tokens[1] __complete $tokens[2..-1] "$cur" 2>/dev/null)
  or return 1
  set -l directive (string replace ':' '' -- $${results}[-1])
  set -e ${results}[-1]
  test (count $${results}) -gt 0; or test (math "bitand($directive, 4)") -ne 0
end
complete -c ${bin} -n '${fn}' -f -a '$${results}'
`
}

export function completionScript(shell: Shell, bin: string): string {
  return shell === 'bash' ? bash(bin) : shell === 'zsh' ? zsh(bin) : fish(bin)
}
