// The default listen_addr "[::]:PORT" on a host that cannot open IPv6 sockets.
import { describe, expect, it } from 'vitest';
import { WraithError } from '@wraith/core';
import { startListening } from '../src/node/listen-fallback.js';

const noV6 = (bind: string): WraithError =>
  new WraithError('E_SOCKET', `socket(udp6) for ${bind}: EAFNOSUPPORT`, { errno: 'EAFNOSUPPORT' }, 'IPv6 is disabled on this host');

describe('startListening', () => {
  it('falls back from [::]:PORT to 0.0.0.0:PORT when IPv6 is off, and warns', async () => {
    const tried: string[] = [];
    const warned: string[] = [];
    const got = await startListening('[::]:40000', async (bind) => {
      tried.push(bind);
      if (bind.startsWith('[')) throw noV6(bind);
      return bind;
    }, (_f, msg) => warned.push(msg));
    expect(got).toBe('0.0.0.0:40000');
    expect(tried).toEqual(['[::]:40000', '0.0.0.0:40000']);
    expect(warned).toEqual(['IPv6 is not available on this host: listening on 0.0.0.0:40000, IPv4 only']);
  });

  it('keeps every other failure, and an address the operator chose, as it is', async () => {
    const warn = (): void => {
      throw new Error('no warning expected');
    };
    const busy = new WraithError('E_ADDR_IN_USE', 'UDP port 40000 on :: is in use', { errno: 'EADDRINUSE' });
    await expect(startListening('[::]:40000', () => Promise.reject(busy), warn)).rejects.toBe(busy);
    const v6 = noV6('[::1]:40000');
    await expect(startListening('[::1]:40000', () => Promise.reject(v6), warn)).rejects.toBe(v6);
    await expect(startListening('0.0.0.0:40000', async (b) => b, warn)).resolves.toBe('0.0.0.0:40000');
  });
});
