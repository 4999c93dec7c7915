/** Doctor output: a table for people (remedies indented under their check), or one JSON document. */
import type { Check, DoctorTransport } from './types.js';

const MARK: Record<Check['status'], string> = { ok: 'ok', warn: 'WARN', fail: 'FAIL', skipped: 'skip' };

export function formatTable(checks: readonly Check[], transport: DoctorTransport, transportOk: boolean): string {
  const width = Math.max(...checks.map((c) => c.name.length));
  const lines: string[] = [];
  for (const c of checks) {
    lines.push(`${MARK[c.status].padEnd(4)}  ${c.name.padEnd(width)}  ${c.found}${c.code !== undefined && c.status !== 'ok' ? ` [${c.code}]` : ''}`);
    const pad = ' '.repeat(width + 8);
    if (c.remedy !== undefined && c.status !== 'ok' && c.status !== 'skipped') {
      for (const r of c.remedy.split('\n')) lines.push(`${pad}${r === c.remedy.split('\n')[0] ? '-> ' : '   '}${r}`);
    }
    if (c.debug !== undefined) for (const d of c.debug.trimEnd().split('\n')) lines.push(`${pad}| ${d}`);
  }
  lines.push('');
  lines.push(transportOk
    ? `transport ${transport}: can run here`
    : `transport ${transport}: cannot run here (see the FAIL lines)`);
  return `${lines.join('\n')}\n`;
}

export function formatJson(checks: readonly Check[], transport: DoctorTransport, transportOk: boolean): string {
  return `${JSON.stringify({ checks, transport, transport_ok: transportOk })}\n`;
}
