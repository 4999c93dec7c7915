/**
 * A standalone entry: `node dist/doctor/main.js [--json] [--interface IF] [--port N]
 * [--transport auto|udp|xdp] [--debug]`. The CLI's `wraith doctor` calls runDoctor() itself; this
 * entry runs the same checks in a bare process (another user, another network namespace).
 */
import { parseArgs } from 'node:util';
import { runDoctor } from './run.js';
import type { DoctorTransport } from './types.js';

const USAGE = 'usage: doctor [--json] [--interface IF] [--port N] [--transport auto|udp|xdp] [--debug]';

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        json: { type: 'boolean' },
        interface: { type: 'string' },
        port: { type: 'string' },
        transport: { type: 'string' },
        debug: { type: 'boolean' },
      },
      strict: true,
    }));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    process.stderr.write(`--port ${values.port}: not a port number\n${USAGE}\n`);
    return 2;
  }
  const transport = values.transport;
  if (transport !== undefined && transport !== 'auto' && transport !== 'udp' && transport !== 'xdp') {
    process.stderr.write(`--transport ${transport}: auto, udp or xdp\n${USAGE}\n`);
    return 2;
  }
  const r = await runDoctor({
    json: values.json === true,
    debug: values.debug === true,
    ...(values.interface !== undefined ? { interface: values.interface } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(transport !== undefined ? { transport: transport as DoctorTransport } : {}),
  });
  return r.exitCode;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`doctor: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  },
);
