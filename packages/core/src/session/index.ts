export * from './config.js';
export * from './events.js';
export { Session, type SessionState, type SessionStats, type SessionControl } from './session.js';
export { NOISE_PROTOCOL, PROLOGUE, type StaticKeyPair } from './handshake.js';
export { DropCounters } from './drops.js';
export { COOKIE_LEN } from './cookies.js';
export { ReceiveBudget } from './receive-budget.js';
