import { describe, expect, it } from 'vitest';
import { probeXdp, xdpUnavailableMessage } from '../src/probe.js';

describe('probeXdp', () => {
  it('fails the interface check for a missing interface and says so in the log line', () => {
    const p = probeXdp('wr-nosuch0');
    expect(p.ok).toBe(false);
    const iface = p.checks.find((c) => c.name === 'interface')!;
    expect(iface.ok).toBe(false);
    expect(iface.code).toBe('E_XDP_UNAVAILABLE');
    expect(iface.remedy).toMatch(/ip link/);
    expect(xdpUnavailableMessage(p)).toMatch(/^XDP unavailable: falling back to UDP \(.+\)$/);
  });

  it('gives every failed check a code and a remedy, and never suggests setcap', () => {
    const p = probeXdp('wr-nosuch0');
    for (const c of p.checks) {
      expect(typeof c.reason).toBe('string');
      if (!c.ok) {
        expect(c.code).not.toBeNull();
        expect(c.remedy.length).toBeGreaterThan(0);
      }
      expect(c.remedy).not.toMatch(/setcap/);
    }
    expect(p.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['kernel', 'capabilities', 'interface', 'memlock', 'huge_pages']));
  });
});
