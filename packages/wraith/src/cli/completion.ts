/**
 * `wraith completion bash`: a bash completion script made from the command tree itself, so it
 * knows every command, flag and config flag of this build. Flag values are completed by their
 * placeholder: files for FILE and PATH, directories for DIR, the listed values of `a|b|c`, network
 * interfaces for IF, and `[peers.NAME]` names for PEER (asked of `wraith completion peers`, with
 * the --home and --config typed so far).
 */
import type { Command, Option } from 'commander';

type ValueKind = 'file' | 'dir' | 'iface' | 'peer' | `enum:${string}` | 'text';

interface CommandInfo {
  /** Space-joined path below `wraith` ("" for the root, "config show"). */
  readonly path: string;
  readonly subs: readonly string[];
  readonly flags: readonly string[];
  /** Flags that take a value, and what kind. */
  readonly valued: ReadonlyMap<string, ValueKind>;
  /** Positional arguments are files. */
  readonly files: boolean;
}

function valueKind(o: Option): ValueKind | null {
  const m = /[<[]([^>\]]+)[>\]]/.exec(o.flags);
  if (m === null) return null;
  const p = m[1] as string;
  // A directory on the receiver, not here.
  if (o.long === '--dest') return 'text';
  if (o.long === '--xdp-interface') return 'iface';
  if (p.includes('|')) return `enum:${p.split('|').join(' ')}`;
  if (p === 'FILE' || p === 'PATH') return 'file';
  if (p === 'DIR') return 'dir';
  if (p === 'IF') return 'iface';
  if (p === 'PEER') return 'peer';
  return 'text';
}

function visible(cmd: Command): Command[] {
  return cmd.commands.filter((c) => !(c as unknown as { _hidden?: boolean })._hidden);
}

function collect(cmd: Command, path: string, globals: readonly Option[], out: CommandInfo[]): void {
  const options = [...globals, ...cmd.options.filter((o) => !o.hidden && !globals.includes(o))];
  const flags = new Set<string>(['--help']);
  const valued = new Map<string, ValueKind>();
  for (const o of options) {
    for (const f of [o.long, o.short]) {
      if (f === undefined) continue;
      flags.add(f);
      const kind = valueKind(o);
      if (kind !== null) valued.set(f, kind);
    }
  }
  const args = cmd.registeredArguments.map((a) => a.name().toUpperCase());
  const subs = visible(cmd).map((c) => c.name());
  // `wraith help COMMAND`: commander's own help command is not among the registered ones.
  if (path === '' && subs.length > 0) subs.push('help');
  out.push({ path, subs, flags: [...flags].sort(), valued, files: args.some((a) => a === 'PATH' || a === 'FILE') });
  if (path === '' && subs.length > 0) out.push({ path: 'help', subs: subs.filter((s) => s !== 'help'), flags: ['--help'], valued: new Map(), files: false });
  for (const sub of visible(cmd)) collect(sub, path === '' ? sub.name() : `${path} ${sub.name()}`, globals, out);
}

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The script for `program` (the root `wraith` command). */
export function bashCompletion(program: Command): string {
  const infos: CommandInfo[] = [];
  // The root's options (--home) are taken anywhere on the line, as commander does.
  const globals = program.options.filter((o) => o.long === '--home');
  collect(program, '', globals, infos);
  const cases = (f: (i: CommandInfo) => string | null): string =>
    infos.map((i) => [i, f(i)] as const).filter(([, v]) => v !== null).map(([i, v]) => `    ${q(i.path)}) ${v} ;;`).join('\n');
  return `# bash completion for wraith, made by \`wraith completion bash\` from this build's commands.
# Load it from ~/.bashrc with: source <(wraith completion bash)
# or for every user: wraith completion bash > /etc/bash_completion.d/wraith
_wraith_subs() {
  case $1 in
${cases((i) => (i.subs.length > 0 ? `echo ${q(i.subs.join(' '))}` : null))}
  esac
}
_wraith_flags() {
  case $1 in
${cases((i) => `echo ${q(i.flags.join(' '))}`)}
  esac
}
# What the value of flag $2 of command $1 is, or nothing: the flag takes none.
_wraith_value() {
  case $1 in
${cases((i) => (i.valued.size > 0 ? `case $2 in ${[...i.valued].map(([f, k]) => `${f}) echo ${q(k)} ;;`).join(' ')} esac` : null))}
  esac
}
_wraith_files() {
  case $1 in
${cases((i) => (i.files ? 'return 0' : null))}
  esac
  return 1
}
_wraith_reply() {
  COMPREPLY=()
  local line
  while IFS= read -r line; do COMPREPLY+=("$line"); done
}
_wraith_complete() {
  local cur=\${COMP_WORDS[COMP_CWORD]} cmd="" word kind i skip=0
  local -a ctx=()
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=\${COMP_WORDS[i]}
    if ((skip)); then
      skip=0
      case \${COMP_WORDS[i - 1]} in --home | --config) ctx+=("\${COMP_WORDS[i - 1]}" "$word") ;; esac
      continue
    fi
    case $word in
      --*=*) ;;
      -*) [[ -n $(_wraith_value "$cmd" "$word") ]] && skip=1 ;;
      *) [[ " $(_wraith_subs "$cmd") " == *" $word "* ]] && cmd=\${cmd:+$cmd }$word ;;
    esac
  done
  if ((skip)); then
    kind=$(_wraith_value "$cmd" "\${COMP_WORDS[COMP_CWORD - 1]}")
    case $kind in
      file) _wraith_reply < <(compgen -f -- "$cur") ;;
      dir) _wraith_reply < <(compgen -d -- "$cur") ;;
      iface) _wraith_reply < <(compgen -W "$(ls /sys/class/net 2>/dev/null)" -- "$cur") ;;
      peer) _wraith_reply < <(compgen -W "$(wraith completion peers "\${ctx[@]}" 2>/dev/null)" -- "$cur") ;;
      enum:*) _wraith_reply < <(compgen -W "\${kind#enum:}" -- "$cur") ;;
      *) COMPREPLY=() ;;
    esac
    return 0
  fi
  if [[ $cur == -* ]]; then
    _wraith_reply < <(compgen -W "$(_wraith_flags "$cmd")" -- "$cur")
  elif [[ -n $(_wraith_subs "$cmd") ]]; then
    _wraith_reply < <(compgen -W "$(_wraith_subs "$cmd")" -- "$cur")
  elif _wraith_files "$cmd"; then
    _wraith_reply < <(compgen -f -- "$cur")
  else
    COMPREPLY=()
  fi
}
complete -o filenames -F _wraith_complete wraith
`;
}
