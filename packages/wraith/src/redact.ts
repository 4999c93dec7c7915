/**
 * What counts as a secret, for `config show`, the logs and the admin API: key material and
 * tokens. Paths to key files are not secrets and stay visible.
 */
export const REDACTED = '[redacted]';

/** Field names whose values are secrets wherever they appear. */
export const SECRET_FIELDS = ['private_key', 'privateKey', 'secret', 'token', 'admin_token', 'password', 'authorization'] as const;

const SECRET_NAME = /(^|_)(private_?key|secret|token|password|passphrase|authorization)$/i;

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** A deep copy with secret-named fields (and `extraSecret` paths) replaced by REDACTED. */
export function redact<T>(value: T, extraSecret: ReadonlySet<string> = new Set(), prefix = ''): T {
  if (Array.isArray(value)) return value.map((v) => redact(v, extraSecret, prefix)) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const dotted = prefix === '' ? k : `${prefix}.${k}`;
    out[k] = (isSecretName(k) || extraSecret.has(dotted)) && v !== null ? REDACTED : redact(v, extraSecret, dotted);
  }
  return out as T;
}
