/**
 * What an errno from bpf(), socket(AF_XDP), io_uring_setup() or bind() usually means, the way
 * the platform notes classify them: EPERM is a missing capability, ENOENT a missing feature or
 * mount, EINVAL a kernel too old for the request, EBUSY something else attached.
 */
export interface ErrnoMeaning {
  readonly meaning: string;
  readonly kind: 'capability' | 'missing' | 'too_old' | 'busy' | 'unsupported' | 'in_use' | 'other';
}

const NAMES: Record<number, string> = {
  1: 'EPERM', 2: 'ENOENT', 12: 'ENOMEM', 13: 'EACCES', 16: 'EBUSY', 22: 'EINVAL', 38: 'ENOSYS',
  95: 'EOPNOTSUPP', 97: 'EAFNOSUPPORT', 98: 'EADDRINUSE', 17: 'EEXIST',
};

export function errnoName(e: number | string): string {
  if (typeof e === 'string') return e;
  return NAMES[Math.abs(e)] ?? `errno ${Math.abs(e)}`;
}

export function classifyErrno(e: number | string): ErrnoMeaning {
  switch (errnoName(e)) {
    case 'EPERM':
    case 'EACCES':
      return { kind: 'capability', meaning: 'not permitted: a capability is missing (or seccomp / an LSM blocks it)' };
    case 'ENOENT':
      return { kind: 'missing', meaning: 'a kernel feature or filesystem is missing (not built, not mounted)' };
    case 'EINVAL':
      return { kind: 'too_old', meaning: 'the kernel refuses the request: it is likely too old for it' };
    case 'EBUSY':
    case 'EEXIST':
      return { kind: 'busy', meaning: 'something else is attached or holds the resource' };
    case 'ENOSYS':
    case 'EAFNOSUPPORT':
      return { kind: 'missing', meaning: 'the kernel was built without this feature' };
    case 'EOPNOTSUPP':
      return { kind: 'unsupported', meaning: 'the driver or kernel does not support this' };
    case 'EADDRINUSE':
      return { kind: 'in_use', meaning: 'another socket holds the address' };
    default:
      return { kind: 'other', meaning: 'an unexpected error' };
  }
}
