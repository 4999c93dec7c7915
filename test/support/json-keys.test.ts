import { describe, expect, it } from 'vitest';
import { duplicateKeys } from './json-keys.js';

describe('duplicateKeys', () => {
  it('finds a key given twice in one object, at any depth', () => {
    expect(duplicateKeys('{"a":1,"a":2}')).toEqual(['a']);
    expect(duplicateKeys('{"x":"\\"a\\"","y":{"k":1,"k" : 2}}')).toEqual(['k']);
  });
  it('keeps objects apart, and does not count strings that are values', () => {
    expect(duplicateKeys('{"a":{"a":1},"b":["a",{"a":1,"b":"a\\":"}],"c":"a"}')).toEqual([]);
    expect(duplicateKeys('[{"a":1},{"a":2}]')).toEqual([]);
  });
});
