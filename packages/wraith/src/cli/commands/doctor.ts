/** `wraith doctor`; the checks are in ../actions/doctor.ts, loaded when it runs. */
import type { Command } from 'commander';
import type { DoctorOptions } from '../actions/doctor.js';
import type { CliIo, CliState } from '../context.js';
import { withHelp } from '../help.js';

export function registerDoctorCommand(program: Command, io: CliIo, state: CliState): void {
  withHelp(
    program
      .command('doctor')
      .description('check whether this machine can run the configured transport, and this home: kernel, BPF, AF_XDP, io_uring, capabilities, memlock, huge pages, the interface, the port, the addon, key permissions')
      .option('--config <FILE>', 'config file (default: <home>/config.toml when present)')
      .option('--interface <IF>', 'the AF_XDP interface to examine (default: xdp_interface, else the default route\'s)')
      .option('--debug', 'add raw command output and file contents to each check')
      .option('--json', 'print one JSON document: {checks, transport, transport_ok}')
      .action(async (opts: DoctorOptions, cmd: Command) => (await import('../actions/doctor.js')).doctor(opts, cmd, io, state)),
    ['wraith doctor', 'wraith doctor --interface eth1 --json', 'wraith --home /var/lib/wraith doctor --debug'],
  );
}
