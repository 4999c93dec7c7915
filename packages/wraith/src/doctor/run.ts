/**
 * runDoctor: every check (CHECK_NAMES), then whether the configured transport can run here.
 * udp (and auto, which falls back to UDP) needs only a free port; xdp needs every check in
 * XDP_REQUIRED to pass and the native addon loaded. Exit code 0 when the transport can run,
 * else the exit code of the first blocking check's error code.
 */
import { ERRORS, EXIT_CODES, type ErrorCode } from '@wraith/core';
import type { OutStream } from '../ui/types.js';
import { bpfJitCheck, unprivilegedBpfCheck } from './checks/bpf.js';
import type { DoctorContext } from './checks/context.js';
import { interfaceChecks } from './checks/interface.js';
import { kernelConfigCheck, kernelVersionCheck } from './checks/kernel.js';
import { securityModulesCheck, udpPortCheck, virtualizationCheck } from './checks/platform.js';
import { capabilitiesCheck, hugePagesCheck, memlockCheck, openFilesCheck } from './checks/privileges.js';
import { afXdpSocketCheck, ioUringCheck, nativeAddonCheck } from './checks/runtime.js';
import { formatJson, formatTable } from './format.js';
import { defaultRouteInterface, parseCapEff, parseKernelRelease } from './parse.js';
import { realSys, type Sys } from './sys.js';
import { CHECK_NAMES, XDP_REQUIRED, type Check, type CheckName, type DoctorTransport } from './types.js';

export interface DoctorOptions {
  readonly json: boolean;
  /** The AF_XDP interface; default: the interface of the default IPv4 route. */
  readonly interface?: string;
  /** Adds raw command output and file contents to each check. */
  readonly debug?: boolean;
  /** The UDP port the node binds (default 40000, the config default); 0: picked at start. */
  readonly port?: number;
  /** The IP the node binds (default `::`, the config default). */
  readonly host?: string;
  readonly transport?: DoctorTransport;
  /** UMEM bytes to lock (memlock check); default 64 MiB, the config default. */
  readonly umemBytes?: number;
  /** Where the report goes; default process.stdout. */
  readonly out?: OutStream;
  /** The system to examine (tests); default this one. */
  readonly sys?: Sys;
}

export interface DoctorResult {
  readonly checks: Check[];
  readonly exitCode: number;
  readonly transportOk: boolean;
}

export const DEFAULT_PORT = 40000;
export const DEFAULT_UMEM_BYTES = 64 * 1024 * 1024;

function exitCodeOf(code: string | undefined): number {
  if (code !== undefined && Object.prototype.hasOwnProperty.call(ERRORS, code)) return EXIT_CODES[ERRORS[code as ErrorCode].category];
  return 1;
}

/** The checks that stop `transport` from running; empty when it can run. */
export function blockingChecks(checks: readonly Check[], transport: DoctorTransport): Check[] {
  const by = (name: CheckName): Check | undefined => checks.find((c) => c.name === name);
  const blocking: Check[] = [];
  const port = by('udp_port');
  if (port?.status === 'fail') blocking.push(port);
  if (transport === 'xdp') {
    for (const name of XDP_REQUIRED) {
      const c = by(name);
      if (c === undefined) continue;
      if (c.status === 'fail') blocking.push(c);
      // AF_XDP runs through the addon: "not loaded" is a warning for UDP and a stop for XDP.
      else if (name === 'native_addon' && c.status !== 'ok') blocking.push(c);
    }
  }
  return blocking;
}

export async function gatherChecks(opts: Omit<DoctorOptions, 'json' | 'out'>): Promise<Check[]> {
  const sys = opts.sys ?? realSys();
  const release = sys.release();
  const status = sys.readText('/proc/self/status');
  let iface: string | null = opts.interface ?? null;
  let ifaceSource: DoctorContext['ifaceSource'] = iface !== null ? 'flag' : null;
  if (iface === null) {
    iface = defaultRouteInterface(sys.readText('/proc/net/route') ?? '');
    if (iface !== null) ifaceSource = 'default route';
  }
  const ctx: DoctorContext = {
    sys,
    debug: opts.debug === true,
    release,
    kernel: parseKernelRelease(release),
    caps: status === null ? null : parseCapEff(status),
    iface,
    ifaceSource,
    host: opts.host ?? '::',
    port: opts.port ?? DEFAULT_PORT,
    umemBytes: opts.umemBytes ?? DEFAULT_UMEM_BYTES,
  };
  const checks: Check[] = [
    kernelVersionCheck(ctx),
    kernelConfigCheck(ctx),
    bpfJitCheck(ctx),
    unprivilegedBpfCheck(ctx),
    capabilitiesCheck(ctx),
    memlockCheck(ctx),
    openFilesCheck(ctx),
    hugePagesCheck(ctx),
    afXdpSocketCheck(ctx),
    ...interfaceChecks(ctx),
    await ioUringCheck(ctx),
    nativeAddonCheck(ctx),
    virtualizationCheck(ctx),
    securityModulesCheck(ctx),
    await udpPortCheck(ctx),
  ];
  const order = new Map<string, number>(CHECK_NAMES.map((n, i) => [n, i]));
  return checks.sort((a, b) => (order.get(a.name) ?? 99) - (order.get(b.name) ?? 99));
}

export async function runDoctor(opts: DoctorOptions): Promise<DoctorResult> {
  const transport = opts.transport ?? 'auto';
  const checks = await gatherChecks(opts);
  const blocking = blockingChecks(checks, transport);
  const transportOk = blocking.length === 0;
  const exitCode = transportOk ? 0 : exitCodeOf(blocking[0]!.code);
  const out = opts.out ?? process.stdout;
  out.write(opts.json ? formatJson(checks, transport, transportOk) : formatTable(checks, transport, transportOk));
  return { checks, exitCode, transportOk };
}
