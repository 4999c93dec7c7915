/**
 * The node-facing layer of the AF_XDP transport without a network: how the
 * node's [xdp] configuration and bind address map onto the transport, and how
 * a failed probe becomes the error the node logs. (Root and namespaces:
 * node.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { WraithError } from '@wraith/core';
import { createXdpNodeTransport, mapXdpConfig, parseBind, probeError, type XdpNodeConfig } from '@wraith/transport-xdp';

const MiB = 1024 * 1024;

/** config/wraith.toml's [xdp] defaults. */
function defaults(): XdpNodeConfig['xdp'] {
  return {
    rx_ring_size: 2048,
    tx_ring_size: 2048,
    fill_ring_size: 4096,
    comp_ring_size: 2048,
    umem_size: 64 * MiB,
    frame_size: 4096,
    huge_pages: false,
    batch_size: 64,
    cpus: [],
    lock_memory: false,
    zero_copy: 'auto',
  };
}

const silent = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

describe('mapXdpConfig', () => {
  it('maps the defaults: one ring size (the largest), UMEM frames capped at two rings, the rest as given', () => {
    const { init, notes } = mapXdpConfig(defaults());
    expect(init).toEqual({ ringSize: 4096, umemFrames: 8192, frameSize: 4096, hugePages: false, batchSize: 64, zeroCopy: 'auto' });
    expect(notes.map((n) => n.msg)).toEqual([
      'AF_XDP rings: 4096 entries each (rx 2048, tx 2048, fill 4096, comp 2048 configured; the transport uses one size, the largest)',
      'UMEM: 8192 frames of 4096 bytes (32 MiB) per socket; umem_size 64 MiB is more than 4096-entry rings can use',
    ]);
  });

  it('keeps a UMEM smaller than two rings and says nothing when the rings agree', () => {
    const c = { ...defaults(), rx_ring_size: 1024, tx_ring_size: 1024, fill_ring_size: 1024, comp_ring_size: 1024, umem_size: 4 * MiB, frame_size: 2048 as const };
    const { init, notes } = mapXdpConfig(c);
    expect(init.ringSize).toBe(1024);
    expect(init.umemFrames).toBe(2048);
    expect(init.frameSize).toBe(2048);
    expect(notes).toEqual([]);
  });

  it('clamps what the transport cannot do, with a warning each', () => {
    const c = { ...defaults(), fill_ring_size: 65536, batch_size: 4096, umem_size: 1 * MiB, huge_pages: true, zero_copy: 'off' as const };
    const { init, notes } = mapXdpConfig(c);
    expect(init.ringSize).toBe(16384);
    expect(init.batchSize).toBe(1024);
    expect(init.umemFrames).toBe(256);
    expect(init.hugePages).toBe(true);
    expect(init.zeroCopy).toBe('off');
    expect(notes.filter((n) => n.level === 'warn').map((n) => n.msg)).toEqual([
      'AF_XDP ring size 65536 is above the 16384 the transport supports; using 16384',
      'xdp.batch_size 4096 is above the 1024 the transport supports; using 1024',
    ]);
  });
});

describe('parseBind', () => {
  it('reads IPv4 and bracketed IPv6 with any port, 0 included', () => {
    expect(parseBind('10.1.2.3:4433')).toEqual({ host: '10.1.2.3', port: 4433 });
    expect(parseBind('0.0.0.0:0')).toEqual({ host: '0.0.0.0', port: 0 });
    expect(parseBind('[::]:0')).toEqual({ host: '::', port: 0 });
    expect(parseBind('[fd00::1]:40000')).toEqual({ host: 'fd00::1', port: 40000 });
  });

  it('refuses what is not IP:PORT with E_ADDR_INVALID', () => {
    for (const bad of ['host:1', '10.0.0.1', '10.0.0.1:65536', 'fd00::1:80', '[10.0.0.1]:80', '10.0.0.1:-1', '']) {
      expect(() => parseBind(bad), bad).toThrowError(expect.objectContaining({ code: 'E_ADDR_INVALID' }) as Error);
    }
  });
});

describe('probeError', () => {
  it('is null when every check passed', () => {
    expect(probeError({ ok: true, interface: 'eth0', checks: [{ name: 'kernel', ok: true, code: null, reason: 'Linux 6.1', remedy: '' }], reason: null })).toBeNull();
  });

  it("is the first failed check's code, reason and remedy", () => {
    const e = probeError({
      ok: false,
      interface: 'eth0',
      reason: 'xdp_attached: busy',
      checks: [
        { name: 'kernel', ok: true, code: null, reason: 'Linux 6.1', remedy: '' },
        { name: 'xdp_attached', ok: false, code: 'E_XDP_BUSY', reason: 'an XDP program (id 7) is already attached in native mode', remedy: 'use another interface' },
        { name: 'mtu', ok: false, code: 'E_XDP_UNAVAILABLE', reason: 'too big', remedy: 'lower it' },
      ],
    });
    expect(e).toBeInstanceOf(WraithError);
    expect(e).toMatchObject({ code: 'E_XDP_BUSY', message: 'xdp_attached: an XDP program (id 7) is already attached in native mode', hint: 'use another interface' });
    expect(e!.exitCode).toBe(5);
  });
});

describe('createXdpNodeTransport refusals before touching anything', () => {
  it('needs an interface name (E_CONFIG)', async () => {
    await expect(createXdpNodeTransport({ config: { network: { xdp_interface: null }, xdp: defaults() }, bind: '0.0.0.0:0', log: silent })).rejects.toMatchObject({
      code: 'E_CONFIG',
    });
  });

  it('refuses a malformed bind address (E_ADDR_INVALID)', async () => {
    await expect(createXdpNodeTransport({ config: { network: { xdp_interface: 'lo' }, xdp: defaults() }, bind: 'nowhere', log: silent })).rejects.toMatchObject({
      code: 'E_ADDR_INVALID',
    });
  });

  it('names a missing interface with a remedy (E_XDP_UNAVAILABLE), quickly', async () => {
    const t0 = Date.now();
    const err = (await createXdpNodeTransport({
      config: { network: { xdp_interface: 'wr-absent0' }, xdp: defaults() },
      bind: '0.0.0.0:0',
      log: silent,
    }).catch((e: unknown) => e)) as WraithError;
    expect(err).toBeInstanceOf(WraithError);
    expect(['E_XDP_UNAVAILABLE']).toContain(err.code);
    // As root the first failing check is the interface; without root or the addon, an earlier one.
    expect(err.message).toMatch(/^(interface: no interface 'wr-absent0'|capabilities: missing |af_xdp: |native: )/);
    expect(err.hint).not.toBe('');
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});
