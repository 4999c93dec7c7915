// Directories the receiver makes: each one's parent is synced before mkdirs returns, so a file
// installed (and confirmed to its sender) in a new directory survives a crash with it.
import { mkdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Beneath } from '../src/store/beneath.js';
import { tmpDir } from './helpers.js';

// The mkdir itself (by path or with the addon's mkdirat) is store.test.ts's; what follows it is shared.
describe('Beneath.mkdirs', () => {
  it('hands the directory each new one was made in to onMade, once, before it returns; existing ones cost nothing', async () => {
    const root = realpathSync(tmpDir());
    mkdirSync(join(root, 'a'));
    const b = new Beneath(root);
    const synced: string[] = [];
    let returned = false;
    b.onMade = async (dir) => {
      await new Promise((r) => setTimeout(r, 5));
      expect(returned).toBe(false);
      synced.push(dir);
    };
    await b.mkdirs(['a', 'b', 'c']);
    returned = true;
    expect(synced.sort()).toEqual([join(root, 'a'), join(root, 'a', 'b')]);
    synced.length = 0;
    returned = false;
    await b.mkdirs(['a', 'b', 'c']);
    await b.mkdirs(['a']);
    expect(synced).toEqual([]);
  });
});
