/**
 * Handshake patterns (rev 34 §7) as data, plus the protocol-name parser. Adding a pattern
 * means adding a row here; HandshakeState interprets the tokens generically.
 */
import { WraithError } from '../../errors.js';
import { HASH_NAMES, type HashName } from '../backend.js';

export type Token = 'e' | 's' | 'ee' | 'es' | 'se' | 'ss';

export interface HandshakePattern {
  readonly name: string;
  /** Pre-message keys the initiator's peer knows in advance ('e' and/or 's'). */
  readonly initiatorPre: readonly ('e' | 's')[];
  readonly responderPre: readonly ('e' | 's')[];
  /** Messages in order; even indices are sent by the initiator. */
  readonly messages: readonly (readonly Token[])[];
}

export const PATTERNS: Readonly<Record<string, HandshakePattern>> = {
  XX: {
    name: 'XX',
    initiatorPre: [],
    responderPre: [],
    messages: [['e'], ['e', 'ee', 's', 'es'], ['s', 'se']],
  },
};

export interface ProtocolSpec {
  readonly name: string;
  readonly pattern: HandshakePattern;
  readonly hash: HashName;
}

/** Parse `Noise_<pattern>_25519_ChaChaPoly_<hash>`; anything else is E_NOISE_PROTOCOL. */
export function parseProtocolName(protocolName: string): ProtocolSpec {
  const parts = typeof protocolName === 'string' ? protocolName.split('_') : [];
  const [noise, patternName, dh, cipher, hash] = parts;
  const pattern = patternName !== undefined && Object.hasOwn(PATTERNS, patternName) ? PATTERNS[patternName] : undefined;
  if (
    parts.length !== 5 ||
    noise !== 'Noise' ||
    pattern === undefined ||
    dh !== '25519' ||
    cipher !== 'ChaChaPoly' ||
    !HASH_NAMES.includes(hash as HashName)
  ) {
    throw new WraithError('E_NOISE_PROTOCOL', `unsupported Noise protocol ${JSON.stringify(protocolName)}`, {
      protocolName,
    });
  }
  return { name: protocolName, pattern, hash: hash as HashName };
}
