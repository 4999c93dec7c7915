/** `wraith completion bash`; the script is made in ../completion.ts from the registered commands. */
import { Option, type Command } from 'commander';
import { WraithError } from '@wraith/core/errors';
import type { CliIo } from '../context.js';
import { withHelp } from '../help.js';

export function registerCompletionCommand(program: Command, io: CliIo): void {
  withHelp(
    program
      .command('completion')
      .description('print a bash completion script for wraith: commands, flags, files, and [peers.NAME] names after --to')
      .argument('<SHELL>', 'bash')
      .addOption(new Option('--config <FILE>', 'the config whose [peers] names to list').hideHelp())
      .action(async (shell: string, _opts: unknown, cmd: Command) => {
        // `peers` is the script's own question: which names may follow --to.
        if (shell === 'peers') return (await import('../actions/config.js')).peerNames(cmd, io);
        if (shell !== 'bash') throw new WraithError('E_USAGE', `no completion for ${JSON.stringify(shell)}: only bash is supported`, {});
        io.stdout.write((await import('../completion.js')).bashCompletion(program));
      }),
    ['wraith completion bash > /etc/bash_completion.d/wraith    # every login', 'source <(wraith completion bash)                          # this shell'],
  );
}
