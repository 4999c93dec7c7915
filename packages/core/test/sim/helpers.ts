import { createHash } from 'node:crypto';
import { vi } from 'vitest';
import { Session } from '../../src/session/session.js';
import type { Blake3 } from '../../src/transfer/index.js';
import type { TransportParams } from '../../src/wire/transport-params.js';
import { nobleBlake3 } from '../../src/noble.js';

let fast: Blake3 = nobleBlake3;
try {
  const mod = (await import('@wraith/blake3')) as { loadBlake3Async?: (p: string) => Promise<Blake3> };
  if (mod.loadBlake3Async) fast = await mod.loadBlake3Async('auto');
} catch {
  // the reference hasher is correct, only slower
}
/** The fastest BLAKE3 available (native, else wasm, else the reference). */
export const fastBlake3: Blake3 = fast;

export function sha256hex(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** The responder (B, the receiver) announces no `param`, as an older build would (undone by vi.restoreAllMocks). */
export function receiverWithout(param: keyof TransportParams): void {
  const own = Session.prototype.localParams;
  vi.spyOn(Session.prototype, 'localParams').mockImplementation(function (this: Session, withResetToken?: boolean) {
    const p = own.call(this, withResetToken);
    if (!this.initiator) delete p[param];
    return p;
  });
}

export function senderWithout(param: keyof TransportParams): void {
  const own = Session.prototype.localParams;
  vi.spyOn(Session.prototype, 'localParams').mockImplementation(function (this: Session, withResetToken?: boolean) {
    const p = own.call(this, withResetToken);
    if (this.initiator) delete p[param];
    return p;
  });
}
