/**
 * Property tests of the manifest parsers (10,000 cases each): names, whole
 * manifests and resume state either validate or fail with a coded error.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { WraithError } from '../../src/errors.js';
import { parseResumeState, validateManifest, validateName, type FileManifest } from '../../src/transfer/index.js';

function coded(f: () => unknown, codes: RegExp): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(WraithError);
    expect((e as WraithError).code).toMatch(codes);
  }
}

const hex64 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));
const nameChars = fc.constantFrom('a', 'b', '.', '..', '/', '\\', '\u0000', '\u0001', '\u007f', 'é', '€', '💾', ' ', '-');
const name = fc.oneof(fc.string({ maxLength: 300 }), fc.array(nameChars, { maxLength: 40 }).map((a) => a.join('')));

describe('manifest properties', () => {
  it('names validate or fail with E_PATH_INVALID (10,000 cases)', () => {
    fc.assert(fc.property(name, (n) => coded(() => validateName(n), /^E_PATH_INVALID$/)), { numRuns: 10_000, seed: 11 });
  });

  it('manifests validate or fail with a coded error (10,000 cases)', () => {
    const manifest = fc.record({
      name,
      kind: fc.constantFrom('file', 'dir', 'other'),
      size: fc.oneof(fc.nat(), fc.integer({ min: -5, max: 5 }), fc.double(), fc.constant(2 ** 60)),
      chunkSize: fc.oneof(fc.constantFrom(16384, 262144, 1 << 24, 1 << 25, 1000, 0), fc.integer()),
      mode: fc.oneof(fc.nat({ max: 0o7777 }), fc.integer()),
      mtimeMs: fc.oneof(fc.nat(), fc.double(), fc.integer({ min: -10, max: 10 })),
      root: fc.oneof(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 40 })),
    });
    fc.assert(
      fc.property(manifest, (m) => coded(() => validateManifest(m as unknown as FileManifest), /^E_(MANIFEST|CHUNK_SIZE|PATH_INVALID)$/)),
      { numRuns: 10_000, seed: 12 },
    );
  });

  it('resume state parses or fails with E_RESUME_STATE (10,000 cases)', () => {
    const state = fc.oneof(
      fc.anything(),
      fc.record({
        version: fc.constantFrom(1, 2, '1'),
        peerId: fc.oneof(hex64, fc.string()),
        root: fc.oneof(hex64, fc.string()),
        name,
        size: fc.oneof(fc.nat(), fc.integer()),
        chunkSize: fc.constantFrom(16384, 262144, 1000),
        held: fc.array(fc.tuple(fc.integer({ min: -2, max: 100 }), fc.integer({ min: -2, max: 100 })), { maxLength: 5 }),
      }),
    );
    fc.assert(fc.property(state, (s) => coded(() => parseResumeState(s), /^E_RESUME_STATE$/)), { numRuns: 10_000, seed: 13 });
  });
});
