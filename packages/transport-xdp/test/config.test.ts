import { describe, expect, it } from 'vitest';
import { isWraithError } from '@wraith/core';
import { createXdpTransport, type XdpTransportInit } from '../src/transport.js';

async function startError(init: XdpTransportInit): Promise<unknown> {
  try {
    const t = await createXdpTransport(init);
    await t.close();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('createXdpTransport configuration', () => {
  it('rejects bad settings with E_CONFIG naming the field, before touching the kernel', async () => {
    const base = { interface: 'wr-none0', port: 4433 };
    const bad: Array<[Partial<XdpTransportInit>, string]> = [
      [{ interface: '../etc' }, 'interface'],
      [{ interface: 'a-name-far-too-long' }, 'interface'],
      [{ port: 0 }, 'port'],
      [{ port: 70000 }, 'port'],
      [{ bindHost: 'example.org' }, 'bindHost'],
      [{ ringSize: 1000 }, 'ringSize'],
      [{ ringSize: 32 }, 'ringSize'],
      [{ frameSize: 3000 as 2048 }, 'frameSize'],
      [{ batchSize: 0 }, 'batchSize'],
      [{ umemFrames: 10 }, 'umemFrames'],
      [{ queues: [-1] }, 'queues'],
    ];
    for (const [patch, field] of bad) {
      const e = await startError({ ...base, ...patch });
      expect(isWraithError(e, 'E_CONFIG'), `${JSON.stringify(patch)} gave ${String(e)}`).toBe(true);
      expect((e as { details: Record<string, unknown> }).details['field']).toBe(field);
    }
  });

  it('reports a missing interface as E_XDP_UNAVAILABLE', async () => {
    const e = await startError({ interface: 'wr-none0', port: 4433 });
    expect(isWraithError(e, 'E_XDP_UNAVAILABLE'), String(e)).toBe(true);
  });
});
