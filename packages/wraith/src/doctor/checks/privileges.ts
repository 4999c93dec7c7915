/** capabilities (CapEff), memlock (RLIMIT_MEMLOCK), open_files (RLIMIT_NOFILE) and huge_pages. */
import { atLeast, hasCap, parseMeminfo, parseMemlock, type CapName } from '../parse.js';
import { unitRemedy } from '../remedy.js';
import { check, skipped, type DoctorContext } from './context.js';
import type { Check } from '../types.js';
import { openFilesLimit, slotsFor } from '../../store/open-slots.js';

const LISTED: CapName[] = ['CAP_NET_RAW', 'CAP_NET_ADMIN', 'CAP_BPF', 'CAP_IPC_LOCK', 'CAP_SYS_ADMIN'];

const mib = (n: number): string => (n === Infinity ? 'unlimited' : `${(n / 1048576).toFixed(n % 1048576 === 0 ? 0 : 1)} MiB`);

export function capabilitiesCheck(ctx: DoctorContext): Check {
  const caps = ctx.caps;
  if (caps === null) return skipped('capabilities', 'a CapEff line in /proc/self/status');
  const have = LISTED.filter((c) => hasCap(caps, c));
  const noCapBpf = ctx.kernel !== null && !atLeast(ctx.kernel, 5, 8);
  const missing: string[] = [];
  if (!hasCap(caps, 'CAP_NET_RAW')) missing.push('CAP_NET_RAW');
  if (!hasCap(caps, 'CAP_NET_ADMIN')) missing.push('CAP_NET_ADMIN');
  // CAP_SYS_ADMIN also allows bpf(); before 5.8 it is the only way.
  if (!(hasCap(caps, 'CAP_BPF') && !noCapBpf) && !hasCap(caps, 'CAP_SYS_ADMIN')) missing.push(noCapBpf ? 'CAP_SYS_ADMIN' : 'CAP_BPF');
  const dbg = { debug: `CapEff: ${caps.toString(16).padStart(16, '0')}` };
  const haveText = have.length > 0 ? `effective: ${have.join(' ')}` : 'no capabilities effective';
  if (missing.length > 0) {
    return check('capabilities', 'fail', `missing ${missing.join(' ')} (${haveText}): AF_XDP and bpf() fail with EPERM; UDP works without them`, {
      ...dbg, code: 'E_XDP_UNAVAILABLE', remedy: unitRemedy({ caps: true, memlock: !hasCap(caps, 'CAP_IPC_LOCK'), noCapBpf }),
    }, ctx.debug);
  }
  if (!hasCap(caps, 'CAP_IPC_LOCK')) {
    return check('capabilities', 'warn', `${haveText}; no CAP_IPC_LOCK: the UMEM counts against RLIMIT_MEMLOCK (see memlock)`, {
      ...dbg, remedy: unitRemedy({ caps: true, memlock: true, noCapBpf }),
    }, ctx.debug);
  }
  return check('capabilities', 'ok', haveText, dbg, ctx.debug);
}

export function memlockCheck(ctx: DoctorContext): Check {
  const text = ctx.sys.readText('/proc/self/limits');
  const limit = text === null ? null : parseMemlock(text);
  if (limit === null) return skipped('memlock', 'a "Max locked memory" line in /proc/self/limits');
  const dbg = { debug: /^Max locked memory.*$/m.exec(text ?? '')?.[0] ?? '' };
  const ipcLock = ctx.caps !== null && hasCap(ctx.caps, 'CAP_IPC_LOCK');
  if (limit === Infinity) return check('memlock', 'ok', 'RLIMIT_MEMLOCK unlimited', dbg, ctx.debug);
  if (ipcLock) return check('memlock', 'ok', `RLIMIT_MEMLOCK ${mib(limit)}, but CAP_IPC_LOCK exempts the UMEM from it`, dbg, ctx.debug);
  if (limit >= ctx.umemBytes) return check('memlock', 'ok', `RLIMIT_MEMLOCK ${mib(limit)} covers ${mib(ctx.umemBytes)} of UMEM`, dbg, ctx.debug);
  return check('memlock', 'fail', `RLIMIT_MEMLOCK ${mib(limit)} is below the ${mib(ctx.umemBytes)} of UMEM and there is no CAP_IPC_LOCK: UMEM registration fails (ENOBUFS/EPERM)`, {
    ...dbg, code: 'E_XDP_UNAVAILABLE', remedy: unitRemedy({ caps: false, memlock: true, also: 'or grant CAP_IPC_LOCK; in a shell: ulimit -l unlimited' }),
  }, ctx.debug);
}

/** Files received at once under this many: fewer and busy senders wait for each other. */
const FEW_FILES = 64;

export function openFilesCheck(ctx: DoctorContext): Check {
  const text = ctx.sys.readText('/proc/self/limits');
  const line = text === null ? null : /^Max open files.*$/m.exec(text)?.[0];
  if (text === null || line == null) return skipped('open_files', 'a "Max open files" line in /proc/self/limits');
  const limit = openFilesLimit(() => text);
  const files = slotsFor(limit);
  const found = `RLIMIT_NOFILE ${limit === Infinity ? 'unlimited' : limit} (Node raises the soft limit to the hard one): up to ${files} files received at once`;
  if (files > FEW_FILES) return check('open_files', 'ok', found, { debug: line }, ctx.debug);
  return check('open_files', 'warn', `${found}; more offers wait for a file to finish`, {
    debug: line, remedy: unitRemedy({ caps: false, nofile: true, also: 'or in a shell: ulimit -n 65536' }),
  }, ctx.debug);
}

export function hugePagesCheck(ctx: DoctorContext): Check {
  const text = ctx.sys.readText('/proc/meminfo');
  const hp = text === null ? null : parseMeminfo(text);
  if (hp === null) return skipped('huge_pages', 'HugePages lines in /proc/meminfo (CONFIG_HUGETLBFS)');
  const nr = ctx.sys.readText('/proc/sys/vm/nr_hugepages')?.trim() ?? '?';
  const dbg = { debug: `HugePages_Total: ${hp.total}\nHugePages_Free: ${hp.free}\nHugepagesize: ${hp.size / 1024} kB\nvm.nr_hugepages: ${nr}` };
  if (hp.total === 0) {
    return check('huge_pages', 'ok', `none reserved (vm.nr_hugepages = ${nr}); the UMEM uses normal pages`, {
      ...dbg, remedy: `optional: sysctl -w vm.nr_hugepages=N (N x ${mib(hp.size)}), then [xdp] huge_pages = true`,
    }, ctx.debug);
  }
  return check('huge_pages', 'ok', `${hp.free} of ${hp.total} huge pages of ${mib(hp.size)} free (vm.nr_hugepages = ${nr})`, dbg, ctx.debug);
}
