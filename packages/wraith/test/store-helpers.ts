/** A FileStore in a fresh temp dir, and offers for it: shared by the store tests. */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { FileStore, type ContentRootFn, type FileStoreOptions, type IncomingFile, type PartialFile } from '../src/store/store.js';
import { tmpDir } from './helpers.js';

export const PEER = 'ab'.repeat(32);
export const PEER2 = 'cd'.repeat(32);
export const CHUNK = 16384;
export const MTIME = Date.UTC(2024, 0, 2, 3, 4, 5);

/** Tests use SHA-256 of the content as the "content root" (the store only compares hex). */
export const rootOf = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');
export const contentRoot: ContentRootFn = async (fd, size) => {
  const fh = await open(`/proc/self/fd/${fd}`, 'r');
  try {
    const buf = Buffer.alloc(size);
    await fh.read(buf, 0, size, 0);
    return rootOf(buf);
  } finally {
    await fh.close();
  }
};

export function data(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

/** Seams every makeStore() gets (the store tests run once portable, once over the addon). */
let seams: Partial<FileStoreOptions> = {};
export function setStoreSeams(s: Partial<FileStoreOptions>): void {
  seams = s;
}

export async function makeStore(over: Partial<FileStoreOptions> = {}): Promise<{ store: FileStore; dir: string; state: string }> {
  const base = tmpDir();
  const dir = join(base, 'incoming');
  const state = join(base, 'state');
  const store = await FileStore.open({
    downloadDir: dir,
    stateDir: state,
    onConflict: 'refuse',
    maxFileSize: null,
    maxTotalBytes: null,
    minFree: 0,
    partialTtlMs: 7 * 86_400_000,
    resume: true,
    contentRoot,
    ...seams,
    ...over,
  });
  return { store, dir: store.downloadDir, state };
}

export function offer(name: string, content: Buffer, over: Partial<IncomingFile> = {}): IncomingFile {
  return { peerId: PEER, root: rootOf(content), name, size: content.length, mode: 0o644, mtimeMs: MTIME, chunkSize: CHUNK, ...over };
}

export async function ready(store: FileStore, o: IncomingFile): Promise<PartialFile> {
  const r = await store.begin(o);
  if (r.status !== 'ready') throw new Error(`expected ready, got ${r.status}`);
  return r.file;
}

export async function receive(store: FileStore, name: string, content: Buffer, over: Partial<IncomingFile> = {}) {
  const f = await ready(store, offer(name, content, over));
  await f.write(content, 0);
  return f.complete();
}
