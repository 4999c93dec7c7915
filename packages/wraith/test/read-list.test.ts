// --files-from lists: one path a line (CRLF too) or NUL-separated, "." and blank lines passed over.
import { describe, expect, it } from 'vitest';
import { namingOf, readPathList } from '../src/cli/read-list.js';
import { memIo } from './helpers.js';

const withStdin = (text: string) => ({ ...memIo(), stdin: [Buffer.from(text)] });

describe('readPathList', () => {
  it('splits lines, or NULs when there is one; passes over blank lines and the directory itself', async () => {
    expect(await readPathList('-', withStdin('.\n./a\r\n\nb c/d\n./\n'))).toEqual(['./a', 'b c/d']);
    expect(await readPathList('-', withStdin('.\0./x\ny\0z\0'))).toEqual(['./x\ny', 'z']);
  });
});

describe('namingOf', () => {
  it('--files-from implies --relative; nothing to take at all is E_USAGE', async () => {
    expect(await namingOf(['p'], {}, memIo(), 'send')).toEqual({ relative: false });
    expect(await namingOf(['p'], { relative: true }, memIo(), 'send')).toEqual({ relative: true });
    expect(await namingOf([], { filesFrom: '-' }, withStdin('a\n'), 'send')).toEqual({ relative: true, listed: ['a'] });
    await expect(namingOf([], {}, memIo(), 'send')).rejects.toThrow('give the files or directories to send (or --files-from LIST)');
    await expect(namingOf([], { filesFrom: '-' }, withStdin('.\n\n'), 'hash')).rejects.toThrow('--files-from stdin names nothing to hash');
    await expect(namingOf([], { filesFrom: '/nonexistent/list' }, memIo(), 'send')).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
  });
});
