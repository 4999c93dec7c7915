/**
 * `@wraith/core/noble`: the portable @noble/* reference implementations, kept out
 * of the main entry so that importing `@wraith/core` never loads @noble/* (tens of
 * milliseconds of start-up on every command, for code node:crypto and the native
 * BLAKE3 make unused). `loadBackend('noble')` imports this lazily.
 */
export { nobleBackend } from './crypto/backend-noble.js';
export { nobleBlake3 } from './transfer/hasher-noble.js';
