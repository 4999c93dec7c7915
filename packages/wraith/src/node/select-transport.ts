import { WraithError, type Transport } from '@wraith/core';
import { createUdpTransport, udpBackend } from '@wraith/transport-udp';
import type { Logger } from 'pino';
import type { ResolvedConfig } from '../config/schema.js';
import { monoMs } from '../clock.js';
import { parseAddr } from '../peer.js';
import { namingPortHolders } from './port-holder.js';

/** One transport considered at startup, and why it was taken or not. */
export interface TransportProbe {
  name: 'xdp' | 'udp';
  ok: boolean;
  code: string | null;
  reason: string | null;
  remedy: string | null;
}

export interface SelectedTransport {
  transport: Transport;
  name: 'xdp' | 'udp';
  probes: TransportProbe[];
  /** Extra facts for status (XDP mode, zero-copy, queues). */
  details: Record<string, unknown>;
}

type XdpModule = {
  createXdpNodeTransport?: (opts: {
    config: ResolvedConfig;
    bind: string;
    log: Logger;
  }) => Promise<{ transport: Transport; details: Record<string, unknown> }>;
};

/**
 * Picks the transport by probing: xdp when asked (or auto with an interface
 * named), else UDP. Every rejection is logged with its reason and remedy.
 */
export async function selectTransport(config: ResolvedConfig, bind: string, log: Logger): Promise<SelectedTransport> {
  const want = config.network.transport;
  const probes: TransportProbe[] = [];
  const tryXdp = want === 'xdp' || (want === 'auto' && config.network.xdp_interface !== null);
  if (tryXdp) {
    const t0 = monoMs();
    try {
      const mod = (await import('@wraith/transport-xdp')) as XdpModule;
      if (typeof mod.createXdpNodeTransport !== 'function') {
        throw new WraithError('E_XDP_UNAVAILABLE', 'this build has no AF_XDP transport');
      }
      if (config.network.xdp_interface === null) {
        throw new WraithError('E_CONFIG', 'network.xdp_interface: expected an interface name for transport = "xdp", found none');
      }
      const x = await mod.createXdpNodeTransport({ config, bind, log });
      probes.push({ name: 'xdp', ok: true, code: null, reason: null, remedy: null });
      return { transport: x.transport, name: 'xdp', probes, details: x.details };
    } catch (e) {
      const err = e instanceof WraithError ? e : new WraithError('E_XDP_UNAVAILABLE', (e as Error).message);
      probes.push({ name: 'xdp', ok: false, code: err.code, reason: err.message, remedy: err.hint });
      if (want === 'xdp' && !config.network.udp_fallback) throw err;
      log.warn({ code: err.code, remedy: err.hint, elapsed_ms: Math.round(monoMs() - t0) }, `XDP unavailable: falling back to UDP (${err.message}; fix: ${err.hint})`);
    }
  } else {
    const reason = want === 'udp' ? 'transport = "udp" was configured' : 'no xdp_interface configured (auto never picks one)';
    probes.push({ name: 'xdp', ok: false, code: 'E_XDP_UNAVAILABLE', reason, remedy: 'set [network] xdp_interface (or --xdp-interface) to use AF_XDP' });
    log.info(`XDP not used: ${reason}`);
  }
  const backend = udpBackend();
  if (backend.reason) log.info({ reason: backend.reason }, `UDP on node:dgram (no sendmmsg/GSO path: ${backend.reason})`);
  const transport = await createUdpTransport({ bind, maxDatagram: config.network.max_datagram_size, log }).catch((e: unknown) => {
    throw namingPortHolders(e, parseAddr(bind, { allowPortZero: true }).port);
  });
  probes.push({ name: 'udp', ok: true, code: null, reason: null, remedy: null });
  return { transport, name: 'udp', probes, details: { udpBackend: backend.backend, gso: transport.caps.gso, gro: transport.caps.gro } };
}
