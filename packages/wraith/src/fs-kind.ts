/**
 * What kind of file system a path is on, by statfs f_type (linux/magic.h): local (metadata calls
 * may run on the caller's thread), memory (no fsync: it does nothing there), a kernel pseudo file
 * system (file sizes that say nothing of the contents), or network/FUSE/unknown (calls may stall,
 * so they stay off the event loop).
 */
import { statfs } from 'node:fs/promises';

type Family = 'local' | 'memory' | 'pseudo' | 'network';

const TYPES: ReadonlyMap<number, readonly [name: string, family: Family]> = new Map([
  [0xef53, ['ext4', 'local']], [0x58465342, ['xfs', 'local']], [0x9123683e, ['btrfs', 'local']],
  [0x2fc12fc1, ['zfs', 'local']], [0x794c7630, ['overlayfs', 'local']], [0xf2f52010, ['f2fs', 'local']],
  [0xca451a4e, ['bcachefs', 'local']], [0x73717368, ['squashfs', 'local']], [0xe0f5e1e2, ['erofs', 'local']],
  [0x9660, ['iso9660', 'local']], [0x4d44, ['vfat', 'local']], [0x2011bab0, ['exfat', 'local']],
  [0x01021994, ['tmpfs', 'memory']], [0x858458f6, ['ramfs', 'memory']],
  [0x6969, ['nfs', 'network']], [0xff534d42, ['cifs', 'network']], [0x65735546, ['fuse', 'network']],
  [0x9fa0, ['procfs', 'pseudo']], [0x62656572, ['sysfs', 'pseudo']], [0x64626720, ['debugfs', 'pseudo']],
  [0x74726163, ['tracefs', 'pseudo']], [0x73636673, ['securityfs', 'pseudo']], [0x27e0eb, ['cgroupfs', 'pseudo']],
  [0x63677270, ['cgroup2', 'pseudo']], [0x62656570, ['configfs', 'pseudo']], [0xde5e81e4, ['efivarfs', 'pseudo']],
  [0x6165676c, ['pstore', 'pseudo']], [0xcafe4a11, ['bpffs', 'pseudo']], [0xf97cff8c, ['selinuxfs', 'pseudo']],
  [0x43415d53, ['smackfs', 'pseudo']], [0x65735543, ['fusectl', 'pseudo']], [0x42494e4d, ['binfmt_misc', 'pseudo']],
  [0x6e736673, ['nsfs', 'pseudo']],
]);

/** The file system's name ("ext4"), or its type number. */
export function fsName(type: number): string {
  return TYPES.get(type)?.[0] ?? `type 0x${type.toString(16)}`;
}

/** tmpfs or ramfs. */
export function isMemoryFs(type: number): boolean {
  return TYPES.get(type)?.[1] === 'memory';
}

/** What a path's file system is: local (memory included), a kernel pseudo file system (its name), or other. */
export type FsKind = 'local' | 'other' | { readonly pseudo: string };

/** Asks statfs once per device. */
export type FsKindOf = (path: string, dev: number) => Promise<FsKind>;

export function fsKinds(): FsKindOf {
  const byDev = new Map<number, Promise<FsKind>>();
  return (path, dev) => {
    let p = byDev.get(dev);
    if (p === undefined) {
      p = statfs(path).then(
        (st): FsKind => {
          const t = TYPES.get(st.type);
          if (t === undefined || t[1] === 'network') return 'other';
          return t[1] === 'pseudo' ? { pseudo: t[0] } : 'local';
        },
        (): FsKind => 'other',
      );
      byDev.set(dev, p);
    }
    return p;
  };
}
