export * from './time.js';
export * from './rng.js';
export * from './errors.js';
export * from './transport.js';
export * from './crypto/index.js';
export * from './transport-memory.js';
export * from './wire/index.js';
