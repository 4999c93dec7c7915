/** The `[admin]` section of the resolved config as startAdminServer options (the daemon's one call). */
import type { Logger } from 'pino';
import type { ResolvedConfig } from '../config/schema.js';
import type { AdminProvider } from './provider.js';
import type { AdminServerOptions } from './server.js';

export function adminServerOptions(config: Pick<ResolvedConfig, 'admin'>, home: string, provider: AdminProvider, logger: Logger): AdminServerOptions {
  const a = config.admin;
  return {
    listen: a.listen,
    unixSocket: a.unix_socket,
    allowRemote: a.allow_remote,
    tlsCert: a.tls_cert,
    tlsKey: a.tls_key,
    home,
    provider,
    logger,
  };
}
