/**
 * Sends started through the admin API, kept in <home>/state/api-sends/<id>.json until they end,
 * so that a daemon restarted meanwhile (`systemctl restart`, an upgrade, a crash) takes them up
 * again: the receiver still holds what arrived, so they resume. One file per send, written
 * atomically; a file that does not parse is left aside with a warning, never fatal.
 */
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { nameRefusal } from '../store/names.js';
import { compileExcludes } from '../exclude.js';
import { writeFileAtomic } from '../fsutil.js';

export interface ApiSendRecord {
  readonly id: string;
  /** The resolved path, as the request was given it. */
  readonly path: string;
  /** The [peers.NAME] it goes to. */
  readonly peer: string;
  readonly rate_bps: number | null;
  readonly allow_growth: boolean;
  /** `dest` of the request (checked with parseDest), when it had one. */
  readonly dest?: string;
  /** `exclude` of the request, when it had patterns. */
  readonly exclude?: readonly string[];
  readonly started_at: string;
}

const ID = /^[0-9a-f]{16}$/;

function validExcludes(v: unknown): boolean {
  if (!Array.isArray(v) || !v.every((p) => typeof p === 'string')) return false;
  try {
    compileExcludes(v as string[]);
    return true;
  } catch {
    return false;
  }
}


function parse(text: string): ApiSendRecord | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  const r = v as Partial<Record<keyof ApiSendRecord, unknown>>;
  if (typeof v !== 'object' || v === null) return null;
  if (typeof r.id !== 'string' || !ID.test(r.id) || typeof r.path !== 'string' || typeof r.peer !== 'string') return null;
  if (!(r.rate_bps === null || (typeof r.rate_bps === 'number' && r.rate_bps > 0)) || typeof r.allow_growth !== 'boolean' || typeof r.started_at !== 'string') return null;
  if (r.dest !== undefined && (typeof r.dest !== 'string' || nameRefusal(r.dest) !== null)) return null;
  if (r.exclude !== undefined && !validExcludes(r.exclude)) return null;
  return r as ApiSendRecord;
}

export class ApiSendStore {
  private readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, 'api-sends');
  }

  async save(r: ApiSendRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(join(this.dir, `${r.id}.json`), `${JSON.stringify(r)}\n`);
  }

  async remove(id: string): Promise<void> {
    await unlink(join(this.dir, `${id}.json`)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
  }

  /** The sends kept, oldest first, and the names of files that are not records. */
  async list(): Promise<{ records: ApiSendRecord[]; unreadable: string[] }> {
    let names: string[];
    try {
      names = (await readdir(this.dir)).filter((n) => n.endsWith('.json'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], unreadable: [] };
      throw e;
    }
    const records: ApiSendRecord[] = [];
    const unreadable: string[] = [];
    for (const n of names) {
      const r = parse(await readFile(join(this.dir, n), 'utf8').catch(() => ''));
      if (r !== null && `${r.id}.json` === n) records.push(r);
      else unreadable.push(join(this.dir, n));
    }
    records.sort((a, b) => a.started_at.localeCompare(b.started_at));
    return { records, unreadable };
  }
}
