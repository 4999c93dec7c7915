import { describe, expect, it } from 'vitest';
import { Endpoint, MemoryNetwork, MemoryTransport, SeededRng, WraithError, nodeBackend } from '@wraith/core';
import { loadBlake3Async } from '@wraith/blake3';
import { Driver, nowMicros } from '../src/node/driver.js';

describe('Driver.replaceTransport', () => {
  it('a replacement that does not open leaves the driver sending nothing, rather than throwing out of its loop on the closed transport', async () => {
    const rng = new SeededRng(7);
    const ep = new Endpoint({ staticKey: nodeBackend.x25519GenerateKeyPair(rng), backend: nodeBackend, hasher: await loadBlake3Async('auto'), rng, acceptIncoming: false });
    const net = new MemoryNetwork();
    const old = new MemoryTransport({ network: net });
    const driver = new Driver(ep, old);
    // Something to send: a dial towards a peer that is not there.
    ep.connect(nowMicros(), { host: '127.0.0.1', port: 9 }, nodeBackend.x25519GenerateKeyPair(rng).publicKey);
    await expect(driver.replaceTransport(() => Promise.reject(new WraithError('E_ADDR_IN_USE', 'bind failed')))).rejects.toThrow('bind failed');
    expect(old.closed).toBe(true);
    expect(() => driver.run()).not.toThrow();
    await new Promise((r) => setTimeout(r, 20)); // the kick the dial asked for runs too
    await driver.close();
  });
});
