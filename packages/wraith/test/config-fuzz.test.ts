/**
 * Property tests of the config parser: any TOML text and any decoded object
 * either load or fail with a coded error naming the problem; nothing else
 * ever escapes (10,000 cases each).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parse } from 'smol-toml';
import { WraithError } from '@wraith/core';
import { normalizeLayer } from '../src/config/validate.js';

const SOURCE = { kind: 'file', path: '/etc/wraith/config.toml' } as const;

const sections = ['node', 'network', 'xdp', 'transfer', 'receive', 'peers', 'admin', 'dos', 'crypto', 'io', 'logging', 'nope'];
const keys = ['listen_addr', 'transport', 'chunk_size', 'trusted_peers', 'min_free', 'on_conflict', 'listen', 'level', 'backend', 'idle_timeout', 'id', 'addr', 'lisen_addr', 'x'];
const value = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.integer(),
  fc.double({ noNaN: false }),
  fc.boolean(),
  fc.array(fc.oneof(fc.string({ maxLength: 20 }), fc.integer()), { maxLength: 4 }),
  fc.constantFrom('1GiB', '10s', '0.0.0.0:40000', '[::]:1', 'auto', 'udp', 'xdp', '262144', 'refuse', 'rename'),
);
const layer = fc.dictionary(
  fc.constantFrom(...sections),
  fc.oneof(fc.dictionary(fc.constantFrom(...keys), value, { maxKeys: 4 }), value),
  { maxKeys: 4 },
);

function expectCoded(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(WraithError);
    expect((e as WraithError).code).toMatch(/^E_(CONFIG|CONFIG_SYNTAX|ADDR_INVALID|PEER_ID_INVALID|CHUNK_SIZE)$/);
    expect((e as WraithError).message.length).toBeGreaterThan(0);
  }
}

describe('config parser properties', () => {
  it('random decoded layers load or fail with a coded error (10,000 cases)', () => {
    fc.assert(
      fc.property(layer, (raw) => {
        expectCoded(() => normalizeLayer(raw, SOURCE, '/etc/wraith'));
      }),
      { numRuns: 10_000, seed: 2026 },
    );
  });

  it('random TOML text either parses to a layer that loads or fails coded (10,000 cases)', () => {
    const text = fc.oneof(
      fc.string({ maxLength: 120 }),
      fc.constantFrom('[network]\nlisten_addr = "0.0.0.0:40000"\n', '[transfer]\nchunk_size = 1000\n', '[receive]\nmin_free = "lots"\n').chain((base) =>
        fc.tuple(fc.nat({ max: base.length }), fc.string({ maxLength: 8 })).map(([at, ins]) => base.slice(0, at) + ins + base.slice(at)),
      ),
    );
    fc.assert(
      fc.property(text, (t) => {
        let raw: unknown;
        try {
          raw = parse(t);
        } catch {
          return; // the loader reports TOML syntax errors with their line (config.test.ts)
        }
        expectCoded(() => normalizeLayer(raw, SOURCE, '/etc/wraith'));
      }),
      { numRuns: 10_000, seed: 7 },
    );
  });
});
