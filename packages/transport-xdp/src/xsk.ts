/**
 * Opening one AF_XDP socket per RX queue: zero-copy first (when allowed),
 * then copy mode with need_wakeup; EBUSY right after a close of the previous
 * socket on that queue is retried for a short while.
 */
import { WraithError } from '@wraith/core';
import { ERRNO, errnoOf, toWraithError, type NativeXdp, type XskSocket, type XskSocketOptions } from './native.js';

/** A queue stays EBUSY for ~10-20 ms after its socket closes (PLATFORM.md); give it 50. */
const BIND_BUSY_RETRY_MS = 50;
const BIND_BUSY_STEP_MS = 5;

export type ZeroCopy = 'auto' | 'on' | 'off';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function openXsk(
  x: NativeXdp,
  opts: XskSocketOptions,
  ifname: string,
  ifindex: number,
  queue: number,
  zeroCopy: ZeroCopy,
): Promise<XskSocket> {
  let sock: XskSocket;
  try {
    sock = new x.XskSocket(opts);
  } catch (e) {
    throw toWraithError(e, 'E_XDP_UNAVAILABLE', { interface: ifname, queue });
  }
  try {
    const modes: Array<'zerocopy' | 'copy'> = zeroCopy === 'on' ? ['zerocopy'] : zeroCopy === 'off' ? ['copy'] : ['zerocopy', 'copy'];
    let last: unknown;
    for (const mode of modes) {
      const deadline = performance.now() + BIND_BUSY_RETRY_MS;
      for (;;) {
        try {
          sock.bind(ifindex, queue, mode);
          return sock;
        } catch (e) {
          last = e;
          if (errnoOf(e) === ERRNO.EBUSY && performance.now() < deadline) {
            await sleep(BIND_BUSY_STEP_MS);
            continue;
          }
          break;
        }
      }
      if (errnoOf(last) === ERRNO.EBUSY) break; // another socket owns the queue: no mode helps
    }
    if (errnoOf(last) === ERRNO.EBUSY) {
      const w = toWraithError(last, 'E_XDP_UNAVAILABLE', { interface: ifname, queue });
      throw new WraithError('E_XDP_BUSY', w.message, { ...w.details }, 'another AF_XDP socket holds this queue');
    }
    throw toWraithError(last, 'E_XDP_UNAVAILABLE', { interface: ifname, queue });
  } catch (e) {
    sock.close();
    throw e instanceof WraithError ? e : toWraithError(e);
  }
}

/** Closes a socket; resolves once its poll handle and fd are gone. */
export function closeXsk(sock: XskSocket): Promise<void> {
  return new Promise((resolve) => {
    if (!sock.close(() => resolve())) resolve();
  });
}
