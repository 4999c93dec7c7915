/** Remedies the checks print: systemd unit lines, never a setcap on the shared node binary. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const XDP_CAPS = 'CAP_NET_RAW CAP_NET_ADMIN CAP_BPF CAP_IPC_LOCK';

/** config/wraith.service of this source tree when it exists (src/doctor and dist/doctor are 4 levels down). */
export function unitFile(): string | null {
  const path = fileURLToPath(new URL('../../../../config/wraith.service', import.meta.url));
  return existsSync(path) ? path : null;
}

/** The [Service] lines that give the node what AF_XDP needs, one per line. */
export function unitRemedy(opts: { caps?: boolean; memlock?: boolean; nofile?: boolean; noCapBpf?: boolean; also?: string } = { caps: true, memlock: true }): string {
  const unit = unitFile();
  const caps = opts.noCapBpf === true ? XDP_CAPS.replace('CAP_BPF', 'CAP_SYS_ADMIN') : XDP_CAPS;
  const lines: string[] = [];
  if (opts.caps !== false) lines.push(`AmbientCapabilities=${caps}`, `CapabilityBoundingSet=${caps}`);
  if (opts.memlock === true) lines.push('LimitMEMLOCK=infinity');
  if (opts.nofile === true) lines.push('LimitNOFILE=65536');
  const where = unit !== null ? unit : 'the wraith systemd unit (systemctl edit wraith)';
  const note = opts.noCapBpf === true ? '\n(this kernel predates CAP_BPF (5.8): CAP_SYS_ADMIN stands in for it)' : '';
  const text = [`add to the [Service] section of ${where}:`, ...lines.map((l) => `  ${l}`)].join('\n') + note;
  if (opts.also !== undefined) return `${text}\n${opts.also}`;
  return `${text}\n(never setcap the node binary: every Node program on the host would get the capabilities)`;
}
