// The lists `wraith hash --check` reads: its own lines, and the NDJSON of `hash --json` and `send --json`.
import { describe, expect, it } from 'vitest';
import { hashLine, parseHashList } from '../src/hash-list.js';

const R1 = 'a'.repeat(64);
const R2 = '0123456789abcdef'.repeat(4);

describe('parseHashList', () => {
  it('reads `wraith hash` lines, names shown escaped included, in order; blank lines and CRLF are fine', () => {
    const names = ['data/big', 'data/with space/x', 'data/bi\u202edi', 'data/\u2066iso\u2069'];
    const text = `${hashLine(R1, names[0]!)}\n${hashLine(R2, names[1]!)}${hashLine(R1, names[2]!).replace('\n', '\r\n')}${hashLine(R2.toUpperCase(), names[3]!)}`;
    expect(text).toContain('bi\\u{202e}di');
    const { entries, errors } = parseHashList(text, 'list.txt');
    expect(errors).toEqual([]);
    expect(entries.map((e) => e.name)).toEqual(names);
    expect(entries.map((e) => e.root)).toEqual([R1, R2, R1, R2]);
    expect(entries.map((e) => e.where)).toEqual(['list.txt:1', 'list.txt:3', 'list.txt:4', 'list.txt:5']);
    expect(entries.every((e) => e.chunkSize === null)).toBe(true);
  });

  it('reads "hash" NDJSON lines with their chunk size, and the "file" lines of files that arrived (stored_as first)', () => {
    const lines = [
      { v: 1, type: 'started', transfer_id: 't', files: 3 },
      { v: 1, type: 'hash', name: 'a', root: R1, bytes: 3, chunk_size: 65536 },
      { v: 1, type: 'file', name: 'd', status: 'sent', kind: 'dir', bytes: 0, root: null },
      { v: 1, type: 'file', name: 'd/b', status: 'sent', kind: 'file', bytes: 1, root: R2 },
      { v: 1, type: 'file', name: 'd/c', status: 'received', kind: 'file', bytes: 1, root: R1, stored_as: 'd/c (1)' },
      { v: 1, type: 'file', name: 'd/e', status: 'already_present', kind: 'file', bytes: 1, root: R1 },
      // Renamed below the sender's directory of a receiver with peer_dirs: the other names lack it.
      { v: 1, type: 'file', name: 'd/h.gz', status: 'sent', kind: 'file', bytes: 1, root: R2, stored_as: 'alpha/d/h (1).gz' },
      { v: 1, type: 'file', name: 'd/f', status: 'skipped', kind: 'file', bytes: 1, root: R1 },
      { v: 1, type: 'file', name: 'd/g', status: 'would_send', kind: 'file', bytes: 1, root: null },
      { v: 1, type: 'progress', transfer_id: 't' },
      { v: 1, type: 'completed', transfer_id: 't', root: R2 },
    ];
    const { entries, errors } = parseHashList(lines.map((l) => JSON.stringify(l)).join('\n'), '-');
    expect(errors).toEqual([]);
    expect(entries).toEqual([
      { name: 'a', root: R1, chunkSize: 65536, where: 'stdin:2' },
      { name: 'd/b', root: R2, chunkSize: null, where: 'stdin:4' },
      { name: 'd/c (1)', root: R1, chunkSize: null, where: 'stdin:5' },
      { name: 'd/e', root: R1, chunkSize: null, where: 'stdin:6' },
      { name: 'd/h (1).gz', root: R2, chunkSize: null, where: 'stdin:7' },
    ]);
  });

  it('a line that is none of these is an E_HASH_LIST error naming the file, line and why; the other lines still count', () => {
    const bad = [
      `${R1} one-space`,
      `${R1.slice(1)}  short`,
      `${R1}  `,
      `${R1}  a\\nb`,
      `${R1}  a\\u{110000}`,
      `${R1}  ../etc/passwd`,
      `${R1}  /abs`,
      `${R1}  a\\x01b`,
      '{"type":"hash","name":"a","root":"' + R1 + '","chunk_size":1000}',
      '{"type":"hash","name":"a","root":"xyz"}',
      '{"type":"file","kind":"file","status":"sent","root":"' + R1 + '"}',
      '{"name":"a"}',
      '[1]',
      '{not json',
    ];
    const { entries, errors } = parseHashList([`${R2}  good`, ...bad].join('\n'), 'l');
    expect(entries.map((e) => e.name)).toEqual(['good']);
    expect(errors.map((e) => e.code)).toEqual(bad.map(() => 'E_HASH_LIST'));
    expect(errors.map((e) => e.exitCode)).toEqual(bad.map(() => 2));
    expect(errors.map((e, i) => e.message.slice(0, e.message.indexOf(`: ${bad[i]!.slice(0, 40)}`)))).toEqual([
      'l:2: not a hash line',
      'l:3: not a hash line',
      'l:4: not a hash line',
      'l:5: a backslash that is not a \\xNN or \\u{X} escape in the name',
      'l:6: a backslash that is not a \\xNN or \\u{X} escape in the name',
      'l:7: the name is not one a send gives (".." component)',
      'l:8: the name is not one a send gives (absolute (leading "/"))',
      'l:9: the name is not one a send gives (control character 0x01 at index 1)',
      'l:10: chunk_size 1000 is not a chunk size (a power of two from 16 KiB to 16 MiB)',
      'l:11: no "root" of 64 hex digits',
      'l:12: no "name" string',
      'l:13: JSON without a "type"',
      'l:14: JSON, but not an object',
      'l:15: neither a hash line nor JSON',
    ]);
    // The line is shown as printable() shows it, cut at 80 characters.
    expect(errors[7]!.message).toContain('a\\x01b');
    expect(parseHashList(`${'x'.repeat(200)}\n`, 'l').errors[0]!.message).toMatch(/x{80}\.\.\.$/);
  });
});
