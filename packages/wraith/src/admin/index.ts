/**
 * The admin API: createAdminApp (fastify, for inject() and the server), startAdminServer
 * (listens as `[admin]` says), the AdminProvider contract the daemon implements, and the CLI
 * clients (runStatus, runTransfers, runPeers, runCancel). docs/ADMIN.md describes the routes.
 */
export { createAdminApp, DEFAULT_BODY_LIMIT, DEFAULT_HEARTBEAT_MS, type AdminAppOptions } from './app.js';
export { startAdminServer, checkAdminListen, type AdminServer, type AdminServerOptions } from './server.js';
export { adminServerOptions } from './from-config.js';
export type { AdminProvider, AdminEventListener } from './provider.js';
export * from './dto.js';
export { httpStatusOf, errorBody } from './http-errors.js';
export { parseAdminListen, isLoopbackHost, type ListenAddr } from './listen-addr.js';
export { resolveSendPath, isWithin } from './send-roots.js';
export { ensureToken, readToken } from './token-file.js';
export { AdminClient, findDaemon, type AdminEndpoint, type AdminClientOptions } from './client.js';
export { runStatus, runTransfers, runPeers, runCancel, type CommandOptions } from './commands.js';
