/**
 * The XDP program's life on one interface: refuse when any program is
 * already attached (E_XDP_BUSY; we never replace or detach what we did not
 * load), create the XSKMAP, load the program, attach it through a BPF link
 * (gone when our last fd closes, even on kill -9), detach by closing it.
 */
import { WraithError } from '@wraith/core';
import { buildXdpProgram } from './bpf/program.js';
import { ERRNO, errnoOf, toWraithError, type NativeXdp } from './native.js';

export type LogFn = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

/** Interfaces this process has a program on: one program per interface. */
const ours = new Set<number>();

/**
 * Claims the interface for this process after checking that no XDP program
 * is attached; returns the release function.
 */
export function claimInterface(x: NativeXdp, ifname: string, ifindex: number): () => void {
  if (ours.has(ifindex))
    throw new WraithError('E_XDP_BUSY', `interface ${ifname} already carries this process's XDP program`, { interface: ifname },
      'one XDP transport per interface and process; give it all the ports');
  let q;
  try {
    q = x.xdpQuery(ifindex);
  } catch (e) {
    throw toWraithError(e, 'E_XDP_UNAVAILABLE', { interface: ifname });
  }
  if (q.attached !== 'none') {
    throw new WraithError('E_XDP_BUSY', `interface ${ifname} already has an XDP program (id ${q.progId || q.drvProgId || q.skbProgId || q.hwProgId}, ${q.attached} mode)`,
      { interface: ifname, ...q },
      'it was not loaded by this node and is left alone; detach it yourself or choose another interface');
  }
  ours.add(ifindex);
  return () => {
    ours.delete(ifindex);
  };
}

export class XdpProgram {
  private linkFd = -1;
  mode: 'native' | 'generic' | null = null;

  private constructor(
    private readonly x: NativeXdp,
    readonly ifname: string,
    readonly ifindex: number,
    readonly mapFd: number,
    readonly progFd: number,
    readonly progId: number,
  ) {}

  /** Creates the XSKMAP (one slot per queue index up to maxQueue) and loads the program. */
  static load(x: NativeXdp, ifname: string, ifindex: number, ports: number[], maxQueue: number): XdpProgram {
    let mapFd = -1;
    try {
      mapFd = x.mapCreateXsk(maxQueue + 1);
      const progFd = x.progLoadXdp(buildXdpProgram({ ports, xsksMapFd: mapFd }), 'wraith_xdp');
      return new XdpProgram(x, ifname, ifindex, mapFd, progFd, x.progId(progFd));
    } catch (e) {
      if (mapFd >= 0) x.closeFd(mapFd);
      throw toWraithError(e, 'E_XDP_UNAVAILABLE', { interface: ifname });
    }
  }

  setSocket(queue: number, fd: number): void {
    this.x.mapUpdateFd(this.mapFd, queue, fd);
  }

  /**
   * Attaches through a BPF link: native (driver) mode first when `want` is
   * 'auto', then generic. The kernel itself refuses a link when any program
   * is attached, so a race with another loader ends in E_XDP_BUSY, never in
   * a replaced program.
   */
  attach(want: 'auto' | 'native' | 'generic', log: LogFn): 'native' | 'generic' {
    if (this.linkFd >= 0) throw new Error('already attached');
    const modes: Array<'native' | 'generic'> = want === 'auto' ? ['native', 'generic'] : [want];
    let last: unknown;
    for (const mode of modes) {
      try {
        this.linkFd = this.x.linkCreateXdp(this.progFd, this.ifindex, mode);
        this.mode = mode;
        if (mode === 'generic') log('warn', 'XDP generic mode: GSO datagrams from peers will be dropped', { interface: this.ifname });
        return mode;
      } catch (e) {
        last = e;
        const code = (e as { code?: string }).code;
        const errno = errnoOf(e);
        // Busy is final; only "this driver cannot do native mode" falls through.
        if (code === 'E_XDP_BUSY' || !(errno === ERRNO.EOPNOTSUPP || errno === ERRNO.EINVAL)) break;
        log('debug', `XDP ${mode} mode refused; trying the next`, { interface: this.ifname, errno });
      }
    }
    throw toWraithError(last, 'E_XDP_UNAVAILABLE', { interface: this.ifname });
  }

  get attached(): boolean {
    return this.linkFd >= 0;
  }

  /**
   * What the kernel says of our attachment now (a netlink query: cold path). 'gone': the
   * interface was deleted (its index is no more), and the link with it. 'detached': another
   * process took our program off (bpftool link detach); it is never attached again from here.
   */
  health(): 'ok' | 'gone' | 'detached' {
    if (this.linkFd < 0) return 'ok';
    let q;
    try {
      q = this.x.xdpQuery(this.ifindex);
    } catch (e) {
      return errnoOf(e) === ERRNO.ENODEV ? 'gone' : 'ok'; // anything else: cannot tell, ask again later
    }
    return [q.progId, q.drvProgId, q.skbProgId].includes(this.progId) ? 'ok' : 'detached';
  }

  /** Detaches: closing our only link fd takes the program off the interface. */
  detach(): void {
    if (this.linkFd >= 0) {
      this.x.closeFd(this.linkFd);
      this.linkFd = -1;
    }
  }

  /** Detaches, then closes the program and the map. Idempotent. */
  close(): void {
    this.detach();
    if (this.closed) return;
    this.closed = true;
    this.x.closeFd(this.progFd);
    this.x.closeFd(this.mapFd);
  }

  private closed = false;
}
