import { readFileSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLog } from '../src/log.js';
import { redact, REDACTED } from '../src/redact.js';
import { MemStream, tmpDir } from './helpers.js';

describe('logging', () => {
  it('writes JSON lines with the component and redacts secrets', () => {
    const out = new MemStream();
    const log = createLog({ level: 'info', stream: out });
    log.child('store').info({ token: 'hunter2', peer: { private_key: 'k' }, path: '/x' }, 'hello');
    log.logger.debug('hidden');
    const lines = out.lines().map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'info', component: 'store', msg: 'hello', token: REDACTED, peer: { private_key: REDACTED }, path: '/x' });
    expect(out.text).not.toContain('hunter2');
  });

  it('reopens its file after rotation; the file is 0640 (also after it), a directory it creates 0750', () => {
    const dir = join(tmpDir(), 'logs');
    const file = join(dir, 'w.log');
    const log = createLog({ level: 'info', file });
    log.logger.info('one');
    log.flush();
    renameSync(file, `${file}.1`);
    log.reopen();
    log.logger.info('two');
    log.flush();
    expect(readFileSync(`${file}.1`, 'utf8')).toContain('"one"');
    expect(readFileSync(file, 'utf8')).toContain('"two"');
    for (const f of [`${file}.1`, file]) expect(statSync(f).mode & 0o777).toBe(0o640);
    expect(statSync(dir).mode & 0o777).toBe(0o750);
  });

  it('redact() replaces secret-named fields at any depth, keeps paths to keys', () => {
    expect(redact({ a: { admin_token: 't', tls_key: '/k.pem' }, list: [{ secret: 's' }] })).toEqual({
      a: { admin_token: REDACTED, tls_key: '/k.pem' },
      list: [{ secret: REDACTED }],
    });
  });
});
