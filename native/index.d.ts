/** The raw addon; each area documents its functions in its own .d.ts. */
export declare const native: Record<string, any> | null;
/** Why the addon is unavailable, or null when it loaded. */
export declare const loadError: string | null;

// ===== io_uring and safe-fs section (native/src/uring, native/src/fs) =====
// Cast `native` to `UringNative & FsNative` after checking it is not null.

/** Kernel opcodes the ring accepts (a whitelist). */
export interface UringOps {
  NOP: number; READ: number; WRITE: number; READ_FIXED: number; WRITE_FIXED: number;
  FSYNC: number; FALLOCATE: number; OPENAT: number; CLOSE: number;
}
/** Field positions of one op in the submit() descriptor (`stride` doubles per op). */
export interface UringDescLayout {
  stride: number; op: number; fd: number; offset: number; length: number; buf: number;
  bufOffset: number; fixed: number; flags: number; userData: number;
  /** Field for IOSQE_* bits; IOSQE_ASYNC (the only one allowed) is its value. */
  sqeFlags: number; IOSQE_ASYNC: number;
}
export interface UringRingOptions {
  /** SQ entries (power of two is used; 1..4096). */
  entries: number;
  /** CQ entries; also the most ops in flight. */
  cqEntries: number;
  /** Called once per reap with how many completions are in doneIds/doneResults. */
  onComplete: (count: number) => void;
  doneIds: Uint32Array;
  /** res of each completion: >= 0 result, < 0 is -errno. */
  doneResults: Int32Array;
  /** At least uringCounterNames.length elements; native adds to them in place. */
  counters: Float64Array;
}
export interface UringRingInstance {
  /** Checks every op, then submits up to the free slots with one io_uring_enter
   *  per SQ-full. Returns how many were accepted; the caller queues the rest. */
  submit(desc: Float64Array, count: number, bufs: ArrayBufferView[]): number;
  /** Registers views as fixed buffers 0..n-1; native keeps them referenced. */
  registerBuffers(views: ArrayBufferView[]): void;
  unregisterBuffers(): void;
  /** Cancels and drains in-flight ops, writes their completions into the done
   *  arrays and returns how many. onComplete is never called afterwards. */
  close(): number;
  info(): { open: boolean; sqEntries: number; cqEntries: number; slots: number; features: number;
    setupFlags: number; inflight: number; undrained: number };
}
export interface UringProbeResult {
  ok: boolean;
  code?: string;
  errno?: number;
  reason?: string;
  features?: number;
  /** kernel.io_uring_disabled, -1 when the sysctl does not exist. */
  ioUringDisabledSysctl: number;
}
export interface UringNative {
  UringRing: new (options: UringRingOptions) => UringRingInstance;
  uringOps: UringOps;
  uringDescLayout: UringDescLayout;
  uringCounterNames: string[];
  uringProbe(): UringProbeResult;
  uringLimits(): { memlockCur: number; memlockMax: number; capIpcLock: boolean };
  /** Address of view[0] modulo alignment (a power of two). */
  bufferAddressMod(view: ArrayBufferView, alignment: number): number;
}
export interface FsConstants {
  AT_FDCWD: number; RESOLVE_NO_XDEV: number; RESOLVE_NO_MAGICLINKS: number; RESOLVE_NO_SYMLINKS: number;
  RESOLVE_BENEATH: number; RESOLVE_IN_ROOT: number; RENAME_NOREPLACE: number; RENAME_EXCHANGE: number;
  AT_REMOVEDIR: number;
  FALLOC_FL_KEEP_SIZE: number; FALLOC_FL_PUNCH_HOLE: number; O_RDONLY: number; O_WRONLY: number;
  O_RDWR: number; O_CREAT: number; O_EXCL: number; O_TRUNC: number; O_DIRECTORY: number;
  O_NOFOLLOW: number; O_PATH: number; O_CLOEXEC: number; O_DIRECT: number; O_NONBLOCK: number;
}
/** Synchronous helpers; they throw Errors with code (E_EXISTS, E_PATH_INVALID, E_NO_SPACE,
 *  E_PERMISSION, E_NOT_FOUND, E_IO), syscall, errno and hint. O_CLOEXEC is always added. */
export interface FsNative {
  /** An fd; with `quiet`, a failure returns -errno instead of throwing. */
  fsOpenat2(dirfd: number, path: string, flags: number, mode: number, resolve: number, quiet?: boolean): number;
  fsRenameat2(olddirfd: number, oldPath: string, newdirfd: number, newPath: string, flags: number): void;
  fsFallocate(fd: number, mode: number, offset: number, length: number): void;
  /** unlinkat(2); flags 0 or AT_REMOVEDIR. */
  fsUnlinkat(dirfd: number, name: string, flags: number): void;
  /** mkdirat(2); the umask applies. */
  fsMkdirat(dirfd: number, name: string, mode: number): void;
  /** flock(2) LOCK_EX | LOCK_NB: true when taken, false when another open file holds it. */
  fsFlock(fd: number): boolean;
  /** lseek(2) SEEK_DATA: the first data byte at or after `offset`, -1 when there is none. */
  fsSeekData(fd: number, offset: number): number;
  fsConstants: FsConstants;
}
// ===== end io_uring and safe-fs section =====

// ===== crypto section (native/src/crypto) =====
// `native.crypto`: batched in-place ChaCha20-Poly1305 packet protection (docs/PROTOCOL.md §2.2).
// Use it through @wraith/native-crypto, which implements @wraith/core's PacketProtection.

declare const nativePacketKeyBrand: unique symbol;
/** Opaque key handle (a type-tagged external); freed by destroyPacketKey or, as a backup, by GC. */
export interface NativePacketKeyHandle { readonly [nativePacketKeyBrand]: true }

/** Errors carry `code` (E_INTERNAL, E_WIRE_TOO_LARGE, E_NONCE_EXHAUSTED, E_NOISE_STATE,
 *  E_CRYPTO_KEY, E_CRYPTO_BACKEND) and, for a bad packet layout, `index`, `end`, `bufLen`. */
export interface CryptoNative {
  /** A key on the 'direct' engine (OpenSSL's ChaCha20_ctr32 and Poly1305 primitives; the
   *  default when aeadEngine() says so) or 'evp' (two EVP contexts keyed once). Throws
   *  E_CRYPTO_BACKEND when 'direct' is asked for and unavailable. */
  createPacketKey(key32: Uint8Array, engine?: 'direct' | 'evp'): NativePacketKeyHandle;
  /** What a key created without an engine runs on; `reason` says why not 'direct'. */
  aeadEngine(): { engine: 'direct' | 'evp'; reason: string | null };
  /** Frees the contexts; true the first time. Later seal/open calls throw E_NOISE_STATE. */
  destroyPacketKey(key: NativePacketKeyHandle): boolean;
  /** Validates every packet first (pn, room for the tag), then seals each in place:
   *  AAD = buf[off, off+hl), plaintext at off+hl of payloadLens[i] bytes, tag appended,
   *  payloadLens[i] += 16. Nonce = 4 zero bytes ‖ u64 LE pn. `pns` may be a BigUint64Array
   *  (the full u64 nonce space) instead of Float64Array (integers ≤ 2^53−1). With tails
   *  (tailSrcCount > 0), the last tailLens[i] plaintext bytes of packet i are read from
   *  tailSrcs[tailIdx[i]] at tailOffs[i] (no source may share memory with buf) and written
   *  encrypted into place: the same bytes as copying them in first, in one pass. */
  sealBatch(key: NativePacketKeyHandle, buf: Uint8Array, count: number, offsets: Uint32Array,
    headerLens: Uint32Array, payloadLens: Uint32Array, pns: Float64Array | BigUint64Array,
    tailLens?: Uint32Array, tailOffs?: Uint32Array, tailIdx?: Uint8Array, tailSrcs?: Uint8Array[],
    tailSrcCount?: number): void;
  /** Opens in place; status[i] = 1 and payloadLens[i] -= 16 when authentic, else status[i] = 0
   *  with the packet's bytes untouched. Throws only for bad arguments; returns how many opened. */
  openBatch(key: NativePacketKeyHandle, buf: Uint8Array, count: number, offsets: Uint32Array,
    headerLens: Uint32Array, payloadLens: Uint32Array, pns: Float64Array | BigUint64Array,
    status: Uint8Array): number;
  /** 16. */
  tagLen: number;
  /** OpenSSL_version(OPENSSL_VERSION) of the node binary the addon links against. */
  opensslVersion: string;
}
// ===== end crypto section =====

// ===== AF_XDP section (native/src/xdp, native/src/bpf) =====
// `native.xdp`. Use it through @wraith/transport-xdp. Errors are Errors with `code`
// (E_XDP_UNAVAILABLE, E_XDP_BUSY), `syscall`, `errno`, `hint`, and for a rejected
// program `verifierLog`; messages read "syscall(args): strerror: hint". Arguments are
// checked (TypeError/RangeError) before any syscall.

export interface XskSocketOptions {
  /** Entries in each of the four rings: a power of two, 64..16384. */
  ringSize: number;
  /** UMEM frames; half (at most ringSize) feed the fill ring, the rest (at most ringSize) TX. */
  frames: number;
  /** UMEM chunk size; the kernel takes only 2048 or 4096. */
  frameSize: 2048 | 4096;
  /** Try MAP_HUGETLB (2 MiB pages) first; falls back to normal pages (see info.note). */
  hugePages: boolean;
  /** Preferred NUMA node for the UMEM (mbind, best effort); -1 for none. */
  numaNode: number;
}
export interface XskInfo {
  zeroCopy: boolean; hugePages: boolean; umemBytes: number; ringSize: number; frameSize: number;
  rxFrames: number; txFrames: number;
  /** XDP_MAX_TX_SKB_BUDGET was accepted (newer kernels): one sendto() sends a whole ring. */
  txBudgetSet: boolean;
  queue: number;
  /** Why huge pages or NUMA placement were not used; '' otherwise. */
  note: string;
}
/** One AF_XDP socket with its own UMEM. Created unbound; bind() once. */
export interface XskSocketInstance {
  readonly fd: number;
  readonly info: XskInfo;
  /** bind(2) with XDP_ZEROCOPY or XDP_COPY, always with XDP_USE_NEED_WAKEUP; fills the fill ring. */
  bind(ifindex: number, queue: number, mode: 'zerocopy' | 'copy'): void;
  /** Copies up to max received frames to dst (frame i at i * stride), their lengths to
   *  lengths[i], and returns the UMEM frames to the fill ring at once. Returns the count. */
  rx(dst: Uint8Array, stride: number, lengths: Uint32Array, max: number): number;
  /** Frame i = hdrs[i*hdrStride, +hdrLens[i]) then payload[payOffsets[i], +payLens[i]),
   *  copied into a free UMEM frame; with udpChecksum the UDP checksum is filled in. All
   *  frames are checked first. Kicks the kernel (sendto) unless kick is false (then the
   *  frames wait for kick()/reclaim()). Returns how many were taken (fewer when out of TX
   *  frames or ring slots). */
  tx(hdrs: Uint8Array, hdrStride: number, hdrLens: Uint32Array, payload: Uint8Array,
    payOffsets: Uint32Array, payLens: Uint32Array, count: number, udpChecksum: boolean, kick?: boolean): number;
  /** The TX frames as one buffer (txFrames * frameSize bytes); it keeps the UMEM mapped for
   *  as long as it lives. Frames lent by txLend() may be written through it. */
  txArea(): ArrayBuffer;
  /** Takes back whatever the previous lend left unsubmitted, then lends up to max free TX
   *  frames: offsets[i] is where frame i starts in txArea(). Returns the count. */
  txLend(offsets: Uint32Array, max: number): number;
  /** Queues lens[i] bytes at txArea() offset offsets[i], each inside a frame of the last lend
   *  not submitted yet (else TypeError, nothing queued); fills in UDP checksums when
   *  udpChecksum. Does not kick. Returns count. */
  txSubmit(offsets: Uint32Array, lens: Uint32Array, count: number, udpChecksum: boolean): number;
  /** Collects completions and kicks what is still queued. */
  reclaim(): { freeFrames: number; queued: number };
  /** Kicks TX if anything is queued; returns how many descriptors are still queued. */
  kick(): number;
  /** Our ring counters plus the kernel's XDP_STATISTICS (rx_dropped, rx_invalid_descs,
   *  tx_invalid_descs, rx_ring_full, fill_ring_empty_descs, tx_ring_empty_descs). */
  stats(): Record<string, number>;
  /** uv_poll on the socket fd (main loop): on readable, rx() into the registered buffers
   *  and cb(count), batch after batch until the ring is empty or `budget` frames (default
   *  4 * max) were handled. The buffers stay referenced. */
  startPoll(dst: Uint8Array, stride: number, lengths: Uint32Array, max: number, cb: (count: number) => void, budget?: number): void;
  /** Idempotent, in any order with close(); the socket stays open. */
  stopPoll(): void;
  /** true: teardown finishes after the poll handle closes (also one a stopPoll() is still closing), then cb runs;
   *  false: done now, or close() was called before (this cb never runs). */
  close(cb?: () => void): boolean;
}
export interface XdpQueryResult {
  attached: 'none' | 'native' | 'generic' | 'offload' | 'multi' | 'unknown';
  progId: number; drvProgId: number; skbProgId: number; hwProgId: number;
}
export interface XdpNative {
  /** BPF_MAP_TYPE_XSKMAP, u32 key (RX queue) -> AF_XDP socket. */
  mapCreateXsk(maxEntries: number): number;
  mapUpdateFd(mapFd: number, key: number, valueFd: number): void;
  /** false when the key was not there. */
  mapDelete(mapFd: number, key: number): boolean;
  /** BPF_PROG_LOAD of XDP bytecode (8-byte instructions); retries with a verifier log on failure. */
  progLoadXdp(insns: Uint8Array, name?: string): number;
  /** BPF_PROG_TEST_RUN on one frame (>= 14 bytes). */
  progTestRun(progFd: number, frame: Uint8Array,
    ctx?: { ingressIfindex?: number; rxQueueIndex?: number; repeat?: number }): { retval: number; dataOut: Buffer };
  progId(progFd: number): number;
  /** BPF_LINK_CREATE (BPF_XDP). EBUSY/EEXIST (a program is attached) throw E_XDP_BUSY. */
  linkCreateXdp(progFd: number, ifindex: number, mode: 'native' | 'generic'): number;
  closeFd(fd: number): void;
  /** RTM_GETLINK: which XDP program, if any, the interface carries. */
  xdpQuery(ifindex: number): XdpQueryResult;
  /** if_nametoindex; 0 when absent. */
  ifIndex(name: string): number;
  ethtoolDriver(ifname: string): { driver: string; version: string; busInfo: string };
  /** null when the driver does not report channels. */
  ethtoolChannels(ifname: string): { maxRx: number; maxTx: number; maxCombined: number; rx: number; tx: number; combined: number } | null;
  /** 0 when socket(AF_XDP) works, else its errno. */
  afXdpErrno(): number;
  /** Fills in the UDP checksum of an Ethernet + IPv4/IPv6 + UDP frame as tx() does. */
  fillUdpChecksum(frame: Uint8Array): boolean;
  XskSocket: new (options: XskSocketOptions) => XskSocketInstance;
}
// ===== end AF_XDP section =====

// ===== UDP section (native/src/udp) =====
// `native.udp`. Use it through @wraith/transport-udp. Errors carry `code`
// (E_SOCKET, E_ADDR_IN_USE, E_ADDR_INVALID, E_PERMISSION, E_TRANSPORT_CLOSED),
// `syscall`, `errno`, `errnoName` and `hint`. Arguments are checked (TypeError/
// RangeError) before any syscall.

export interface UdpSocketOptions {
  /** IP literal to bind; an IPv6 one makes a dual-stack socket (IPV6_V6ONLY off). */
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** SO_RCVBUF(FORCE) bytes; 0 or absent: the kernel default. */
  recvBufferBytes?: number;
  /** SO_SNDBUF(FORCE) bytes; 0 or absent: the kernel default. */
  sendBufferBytes?: number;
  /** Largest datagram sent or expected (1..65507, default 1452). */
  maxDatagram?: number;
  /** Try UDP_SEGMENT (GSO) sends; default true. */
  gso?: boolean;
  /** Try UDP_GRO receives; default true. */
  gro?: boolean;
  /** Destination ids setPeer() may use (1..1048576, default 4096). */
  peerCapacity?: number;
  /** At least counterNames.length elements; native adds to them in place. */
  counters: Float64Array;
  /** Tests: one GSO send fails with this errno (EIO = 5, EINVAL = 22) as if the kernel refused
   *  it: the first after `testFailGsoAfter` (default 0) GSO sends succeeded. */
  testFailGso?: number;
  testFailGsoAfter?: number;
}
export interface UdpPollOptions {
  /** Receive area: datagrams land here (offsets/lengths say where). */
  area: Uint8Array;
  offsets: Uint32Array;
  lengths: Uint32Array;
  /** Source of datagram i at ip[16*i, +16) (IPv4 in the first 4 bytes), ports[i],
   *  families[i] (4, 6, or 0: the same source as datagram i-1), scopes[i] (IPv6 scope id). */
  ip: Uint8Array;
  ports: Uint16Array;
  families: Uint8Array;
  scopes: Uint32Array;
  /** Datagrams per onRecv call; every array above holds at least this many. */
  batch: number;
  /** Bytes per recvmmsg entry: constants.groRegion with GRO on, else >= maxDatagram. */
  region: number;
  /** Datagrams handled per wakeup before yielding to the loop (default 8192). */
  budget?: number;
  onRecv: (count: number) => void;
  /** A send() that returned a short count can go again. */
  onWritable: () => void;
  /** An ICMP error came back for a datagram sent to host:port: errno ECONNREFUSED (port
   *  unreachable), EHOSTUNREACH, ENETUNREACH, EMSGSIZE (path MTU), ... Advisory. */
  onUnreachable?: (host: string, port: number, errno: number) => void;
}
export interface UdpSocketInfo {
  host: string; port: number; family: 4 | 6;
  gso: boolean; gro: boolean;
  /** errno of the UDP_SEGMENT / UDP_GRO probe; 0 when it worked. */
  gsoProbeErrno: number; groProbeErrno: number;
  recvBufferBytes: number; sendBufferBytes: number;
  recvBufferForced: boolean; sendBufferForced: boolean;
  maxDatagram: number; peerCapacity: number; open: boolean;
}
/** A kernel UDP socket owned by native code: sendmmsg with GSO, recvmmsg with GRO, uv_poll on the main loop. */
export interface UdpSocketInstance {
  /** Sends datagrams start..start+count-1 (buf[offsets[i], +lengths[i]) to peer id peers[i],
   *  or constants.unroutable to drop and count). Returns how many were consumed; fewer than
   *  count on EAGAIN (then onWritable fires). */
  send(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, peers: Uint32Array, start: number, count: number): number;
  /** Registers destination `id`; false when this socket cannot reach it (IPv6 from IPv4, not an IP literal).
   *  Port 0 is registered but never sent with GSO: the kernel refuses it (EINVAL, a send error). */
  setPeer(id: number, host: string, port: number): boolean;
  startPoll(options: UdpPollOptions): void;
  /** true: cb runs after the poll handle closed; false: closed already. */
  close(cb?: () => void): boolean;
  info(): UdpSocketInfo;
  /** The kernel's MTU on the route from this socket's address to host:port (IP_MTU / IPV6_MTU
   *  of a connected throwaway socket), or -errno. */
  pathMtu(host: string, port: number): number;
  readonly gso: boolean;
  readonly gro: boolean;
}
export interface UdpNative {
  UdpSocket: new (options: UdpSocketOptions) => UdpSocketInstance;
  /** Names of the counters array elements, in order. */
  counterNames: string[];
  constants: { maxGsoSegments: number; maxGsoBytes: number; groRegion: number; unroutable: number };
}
// ===== end UDP section =====

// ===== service manager section (native/src/notify) =====
export interface NotifyNative {
  /** One sd_notify(3) datagram to `address` ($NOTIFY_SOCKET: a path or "@abstract"). */
  sdNotify(address: string, message: string): void;
}
// ===== end service manager section =====

// ===== memory section (native/src/memory) =====
export interface MemoryNative {
  /** malloc_trim(0) (glibc): true when freed heap memory went back to the kernel. */
  mallocTrim(): boolean;
}
// ===== end memory section =====
