/**
 * The `wraith` command tree (commander), registered in ./commands/. Registering loads no handler:
 * each is imported from ./actions/ when its command runs, so `--help` and `--version` stay cheap.
 */
import { Command, CommanderError } from 'commander';
import { registerAdminCommands } from './commands/admin.js';
import { registerCompletionCommand } from './commands/completion.js';
import { registerConfigCommands } from './commands/config.js';
import { registerDoctorCommand } from './commands/doctor.js';
import { registerHashCommand } from './commands/hash.js';
import { registerIdentityCommands } from './commands/identity.js';
import { registerNodeCommands } from './commands/node.js';
import type { CliIo, CliState } from './context.js';
import { withHelp } from './help.js';
import { versionText } from './version.js';

export function buildProgram(io: CliIo, state: CliState): Command {
  const program = new Command('wraith');
  // Set before the subcommands are created: commander copies these settings into each.
  program
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: () => undefined, // parse errors are printed as error[E_USAGE] by main()
    })
    .showSuggestionAfterError(true)
    .allowExcessArguments(false);
  program
    .description('fast, encrypted, resumable file transfer between Linux servers')
    .option('-V, --version', 'print version, protocol version and native addon status')
    .option('--home <DIR>', 'node home: identity, config.toml, state (default: $WRAITH_HOME, else ~/.config/wraith)')
    .helpCommand('help [command]', 'help for a command');
  // What .version(text) does, with the text (which loads the native addon) made only when asked.
  program.on('option:version', () => {
    const text = versionText(io.entry);
    io.stdout.write(`${text}\n`);
    throw new CommanderError(0, 'commander.version', text);
  });
  withHelp(program, [
    'wraith keygen && wraith id',
    'wraith daemon --output /srv/incoming',
    'wraith send ./data --to <id>@receiver.example.net:40000',
  ]);
  registerIdentityCommands(program, io, state);
  registerNodeCommands(program, io, state);
  registerHashCommand(program, io, state);
  registerConfigCommands(program, io, state);
  registerAdminCommands(program, io, state);
  registerDoctorCommand(program, io, state);
  registerCompletionCommand(program, io);
  return program;
}
