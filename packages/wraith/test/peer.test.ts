import { describe, expect, it } from 'vitest';
import { isWraithError } from '@wraith/core';
import { formatAddr, parseAddr, parsePeer, parsePeerId } from '../src/peer.js';

const ID = 'ab'.repeat(32);

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isWraithError(e) ? e.code : 'not a WraithError';
  }
  return undefined;
}

describe('peer ids', () => {
  it('accepts 64 hex, a 0x prefix and upper case; normalises to lower case', () => {
    expect(parsePeerId(ID)).toBe(ID);
    expect(parsePeerId(`0x${ID}`)).toBe(ID);
    expect(parsePeerId(ID.toUpperCase())).toBe(ID);
  });
  it.each(['', 'ab', `${ID}a`, `${ID.slice(0, 63)}g`, `0y${ID}`])('refuses %j with E_PEER_ID_INVALID', (s) => {
    expect(code(() => parsePeerId(s))).toBe('E_PEER_ID_INVALID');
  });
});

describe('addresses', () => {
  it('parses IPv4, host names and bracketed IPv6', () => {
    expect(parseAddr('10.0.0.2:40000')).toEqual({ host: '10.0.0.2', port: 40000, family: 4 });
    expect(parseAddr('backup.example.net:1')).toEqual({ host: 'backup.example.net', port: 1, family: 0 });
    expect(parseAddr('[2001:db8::2]:40000')).toEqual({ host: '2001:db8::2', port: 40000, family: 6 });
    expect(parseAddr('[::]:0', { allowPortZero: true })).toEqual({ host: '::', port: 0, family: 6 });
    expect(formatAddr({ host: '::1', port: 5 })).toBe('[::1]:5');
  });
  it.each(['10.0.0.2', '10.0.0.2:', ':40000', '2001:db8::2:40000', '[10.0.0.1]:5', '[::1]5', 'a b:1', 'h:65536', 'h:0', 'h:x'])(
    'refuses %j with E_ADDR_INVALID',
    (s) => expect(code(() => parseAddr(s))).toBe('E_ADDR_INVALID'),
  );
});

describe('PEER arguments', () => {
  const named = { backup: { id: ID, addr: 'backup.example.net:40000' } };
  it('parses id@host:port and id@[v6]:port', () => {
    expect(parsePeer(`${ID}@10.0.0.2:40000`)).toEqual({ id: ID, addr: { host: '10.0.0.2', port: 40000, family: 4 }, name: null });
    expect(parsePeer(`0x${ID}@[::1]:9`).addr).toEqual({ host: '::1', port: 9, family: 6 });
  });
  it('resolves a [peers.NAME] entry', () => {
    expect(parsePeer('backup', named)).toEqual({ id: ID, addr: { host: 'backup.example.net', port: 40000, family: 0 }, name: 'backup' });
  });
  it('a [peers.NAME] entry without addr (a peer that only sends here) cannot be sent to: E_PEER_NO_ADDR', () => {
    expect(code(() => parsePeer('sender', { sender: { id: ID } }))).toBe('E_PEER_NO_ADDR');
  });

  it('a peer address without a port gets the daemon default, 40000 (also in [peers.NAME])', () => {
    expect(parsePeer(`${ID}@10.0.0.2`).addr).toEqual({ host: '10.0.0.2', port: 40000, family: 4 });
    expect(parsePeer(`${ID}@[2001:db8::2]`).addr).toEqual({ host: '2001:db8::2', port: 40000, family: 6 });
    expect(parsePeer(`${ID}@backup.example.net`).addr).toEqual({ host: 'backup.example.net', port: 40000, family: 0 });
    expect(parsePeer('b', { b: { id: ID, addr: 'b.example.net' } }).addr.port).toBe(40000);
    // Bind addresses keep needing their port.
    expect(code(() => parseAddr('0.0.0.0', { allowPortZero: true }))).toBe('E_ADDR_INVALID');
    // An IP address alone is taken for an address without its id, a bare word for an unknown name.
    expect(code(() => parsePeer('10.0.0.2'))).toBe('E_PEER_ID_REQUIRED');
    expect(code(() => parsePeer('[::1]'))).toBe('E_PEER_ID_REQUIRED');
  });
  it('requires the id (no trust on first use)', () => {
    expect(code(() => parsePeer('10.0.0.2:40000'))).toBe('E_PEER_ID_REQUIRED');
    expect(code(() => parsePeer('[::1]:40000'))).toBe('E_PEER_ID_REQUIRED');
    expect(code(() => parsePeer('@10.0.0.2:40000'))).toBe('E_PEER_ID_REQUIRED');
  });
  it('names a malformed id, a missing address and an unknown name', () => {
    expect(code(() => parsePeer('abcd@10.0.0.2:40000'))).toBe('E_PEER_ID_INVALID');
    expect(code(() => parsePeer(`${ID}@10.0.0.2:`))).toBe('E_ADDR_INVALID');
    expect(code(() => parsePeer(`${ID}@::1`))).toBe('E_ADDR_INVALID'); // brackets: ::1:4000 would be ambiguous
    expect(code(() => parsePeer(ID))).toBe('E_ADDR_INVALID');
    expect(code(() => parsePeer('nosuch', named))).toBe('E_USAGE');
  });
});
