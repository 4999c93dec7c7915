export {
  HASH_NAMES,
  X25519_KEY_LEN,
  AEAD_KEY_LEN,
  AEAD_NONCE_LEN,
  AEAD_TAG_LEN,
  clampX25519,
  type AeadKey,
  type CryptoBackend,
  type HashFn,
  type HashName,
  type HmacFn,
  type KeyPair,
} from './backend.js';
export { nodeBackend, nodeBackendAvailable } from './backend-node.js';
export { selectBackend, loadBackend, type BackendPreference } from './select-backend.js';
export { CipherState, MAX_NONCE } from './noise/cipher-state.js';
export { SymmetricState } from './noise/symmetric-state.js';
export { HandshakeState, NOISE_MAX_MESSAGE, type HandshakeOptions } from './noise/handshake-state.js';
export { PATTERNS, parseProtocolName, type HandshakePattern, type ProtocolSpec, type Token } from './noise/patterns.js';
export { hkdf } from './noise/hkdf.js';
export { deriveKeyUpdate, type KeyUpdate } from './rekey.js';
export {
  ProtectBatch,
  jsPacketProtection,
  checkTails,
  copyTails,
  MAX_PACKET_NUMBER,
  MAX_TAIL_SOURCES,
  type PacketKey,
  type PacketProtection,
} from './packet-protection.js';
export { ReplayWindow, DEFAULT_REPLAY_WINDOW } from './replay-window.js';
export { peerIdFromPublicKey, parsePeerId, bytesEqual } from './peer-id.js';
