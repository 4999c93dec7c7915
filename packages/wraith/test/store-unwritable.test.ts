import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { itIf, IS_ROOT } from '../../../test/support/prereq.js';
import { ioError } from '../src/store/beneath.js';
import { makeStore } from './store-helpers.js';
import { tmpDir } from './helpers.js';

describe('a download directory that cannot be written', () => {
  it('EROFS reads as a read-only file system (E_PERMISSION), not a bare errno, and ends the session (receiverWide)', () => {
    const e = ioError('open', '/d/.f.part', Object.assign(new Error('EROFS: openat2(...)'), { code: 'EROFS' }));
    expect(e.code).toBe('E_PERMISSION');
    expect(e.message).toBe("open(/d/.f.part): the receiver's file system is mounted read-only (EROFS)");
    expect(e.details).toMatchObject({ receiverWide: true });
    expect(e.hint).toMatch(/^remount it read-write/);
  });

  itIf(IS_ROOT ? null : 'needs root (chattr +i)', 'an immutable download directory is named at start', async () => {
    const dir = join(tmpDir(), 'incoming');
    mkdirSync(dir);
    execFileSync('chattr', ['+i', dir]);
    try {
      const lines: Array<{ msg: string; code?: string }> = [];
      const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as { msg: string; code?: string }) });
      await makeStore({ downloadDir: dir, logger });
      const warned = lines.find((l) => l.msg.includes('is not writable'));
      expect(warned?.msg, JSON.stringify(warned)).toMatch(/not writable: it is immutable \(chattr \+i\); every file offered will be refused/);
      expect(warned?.code).toBe('EPERM');
    } finally {
      execFileSync('chattr', ['-i', dir]);
    }
  });

  it('a writable one says nothing', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    await makeStore({ logger });
    expect(lines.filter((l) => l.includes('not writable'))).toEqual([]);
  });
});
