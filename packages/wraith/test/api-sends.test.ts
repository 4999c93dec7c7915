import { readdirSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiSendStore, type ApiSendRecord } from '../src/node/api-sends.js';
import { tmpDir } from './helpers.js';

const rec = (id: string, started_at: string): ApiSendRecord => ({ id, path: '/srv/out/a', peer: 'b', rate_bps: null, allow_growth: false, started_at });

describe('kept API sends', () => {
  it('saves (0600 in a 0700 directory), lists oldest first, removes; files that are not records are named, not fatal', async () => {
    const state = tmpDir();
    const store = new ApiSendStore(state);
    expect(await store.list()).toEqual({ records: [], unreadable: [] });
    await store.save(rec('00000000000000bb', '2026-01-02T00:00:00.000Z'));
    await store.save({ ...rec('00000000000000aa', '2026-01-01T00:00:00.000Z'), rate_bps: 4e6, allow_growth: true, dest: 'in/2026', exclude: ['*.tmp', 'cache/'] });
    const dir = join(state, 'api-sends');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, '00000000000000aa.json')).mode & 0o777).toBe(0o600);
    writeFileSync(join(dir, 'junk.json'), '{');
    writeFileSync(join(dir, '00000000000000cc.json'), JSON.stringify(rec('00000000000000dd', '2026-01-03T00:00:00.000Z'))); // named for another id
    writeFileSync(join(dir, '00000000000000ee.json'), JSON.stringify({ ...rec('00000000000000ee', 'x'), rate_bps: -1 }));
    // A dest the API would have refused (edited by hand, or from a build that did not check).
    writeFileSync(join(dir, '00000000000000ff.json'), JSON.stringify({ ...rec('00000000000000ff', '2026-01-04T00:00:00.000Z'), dest: '../etc' }));
    // Patterns that do not compile, or are not strings.
    writeFileSync(join(dir, '00000000000000f1.json'), JSON.stringify({ ...rec('00000000000000f1', '2026-01-05T00:00:00.000Z'), exclude: ['a**'] }));
    writeFileSync(join(dir, '00000000000000f2.json'), JSON.stringify({ ...rec('00000000000000f2', '2026-01-05T00:00:00.000Z'), exclude: '*.tmp' }));
    mkdirSync(join(dir, 'not-a-file'));
    const { records, unreadable } = await store.list();
    expect(records.map((r) => r.id)).toEqual(['00000000000000aa', '00000000000000bb']);
    expect(records[0]).toMatchObject({ rate_bps: 4e6, allow_growth: true, dest: 'in/2026', exclude: ['*.tmp', 'cache/'] });
    expect(records[1]).not.toHaveProperty('dest');
    expect(unreadable.map((p) => p.slice(dir.length + 1)).sort()).toEqual(['00000000000000cc.json', '00000000000000ee.json', '00000000000000f1.json', '00000000000000f2.json', '00000000000000ff.json', 'junk.json']);
    await store.remove('00000000000000aa');
    await store.remove('00000000000000aa'); // gone already: fine
    expect(readdirSync(dir).filter((n) => n.startsWith('00000000000000a'))).toEqual([]);
  });
});
