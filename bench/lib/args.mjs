// The benchmarks' command lines, over node:util parseArgs. Every option is a long flag named as
// the user types it; its default gives its type:
//   a number     --flag N, converted with Number() (a value that is not a number is refused)
//   a string     --flag VALUE
//   null         --flag VALUE, no default (null when absent)
//   false        a switch, --flag alone
//
//   const o = benchArgs(import.meta.url, { runs: 3, 'size-mib': 256, 'no-direct': false, json: FILE });
//   // { runs: 3, sizeMib: 256, noDirect: false, json: FILE }: camelCase keys, in the order given
//
// --help / -h prints `usage` (default: the script's leading comment block) and exits 0. An unknown
// option, a missing value, a stray argument or a number that does not parse prints the problem
// and the list of options to stderr and exits 2. `hidden` names options left out of that list
// (internal ones a script passes to its own child processes).
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** The comment block at the top of a script (after any #! line), without the `// ` markers. */
export function headerComment(scriptUrl) {
  const lines = readFileSync(fileURLToPath(scriptUrl), 'utf8').split('\n');
  const start = lines[0]?.startsWith('#!') ? 1 : 0;
  const out = [];
  for (const l of lines.slice(start)) {
    if (!l.startsWith('//')) break;
    out.push(l.slice(3));
  }
  return out.join('\n');
}

const camel = (name) => name.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());

export function benchArgs(scriptUrl, spec, { usage = null, hidden = [], argv = process.argv.slice(2) } = {}) {
  const script = `bench/${basename(fileURLToPath(scriptUrl))}`;
  const fail = (msg) => {
    const shown = Object.keys(spec).filter((k) => !hidden.includes(k));
    console.error(`${script}: ${msg}\noptions: ${[...shown, 'help'].map((k) => `--${k}`).join(' ')} (--help for usage)`);
    process.exit(2);
  };
  const options = { help: { type: 'boolean', short: 'h' } };
  for (const [name, def] of Object.entries(spec)) options[name] = { type: def === false ? 'boolean' : 'string' };
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch (e) {
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') fail(`unknown option ${/'[^']*'/.exec(e.message)?.[0] ?? e.message}`);
    fail(e.message);
  }
  if (values.help) {
    console.log(usage ?? headerComment(scriptUrl));
    process.exit(0);
  }
  const o = {};
  for (const [name, def] of Object.entries(spec)) {
    const v = values[name];
    if (v === undefined) o[camel(name)] = def;
    else if (typeof def === 'number') {
      const n = Number(v);
      if (v.trim() === '' || Number.isNaN(n)) fail(`--${name}: '${v}' is not a number`);
      o[camel(name)] = n;
    } else o[camel(name)] = v;
  }
  return o;
}
