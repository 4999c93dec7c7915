/**
 * @wraith/wraith: the node. Public API for the driver (./node/), the admin API (./admin/) and
 * tests: config, home and identity, logging, stats, the receive-side store, the send-side
 * walker, the UIs, and the CLI entry.
 */
export * from './config/schema.js';
export { loadConfig, readTomlFile, DEFAULTS_FILE, type LoadOptions, type LoadedConfig } from './config/load.js';
export { normalizeLayer, configError, type ConfigSource, type Tree } from './config/validate.js';
export { configKeys, keyByDotted, type ConfigKey } from './config/keys.js';
export { configToJson, configToToml } from './config/show.js';
export * from './home/home.js';
export * from './home/identity.js';
export * from './home/lock.js';
export * from './home/runinfo.js';
export * from './home/token.js';
export * from './log.js';
export * from './stats.js';
export * from './store/index.js';
export * from './walk.js';
export * from './ui/index.js';
export * from './units.js';
export * from './peer.js';
export * from './redact.js';
export * from './node-api.js';
export { main, run } from './cli.js';
