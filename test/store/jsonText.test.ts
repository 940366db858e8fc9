import { expect, test } from 'vitest';
import { toJsonText } from '../../src/store/json.ts';

test('reports and items serialise as JSON, bigints as decimal strings at any depth', () => {
  expect(toJsonText(42)).toBe('42');
  expect(toJsonText('a "b"')).toBe('"a \\"b\\""');
  expect(toJsonText({ id: 1, tags: ['x'] })).toBe('{"id":1,"tags":["x"]}');
  expect(toJsonText(undefined)).toBe('null');
  expect(toJsonText(() => 1)).toBe('null');
  expect(toJsonText(2n ** 64n)).toBe('"18446744073709551616"');
  expect(toJsonText({ a: 1, b: [{ c: 3n }] })).toBe('{"a":1,"b":[{"c":"3"}]}');
});

test('a value JSON cannot hold still throws', () => {
  const cycle: { self?: unknown } = {};
  cycle.self = cycle;
  expect(() => toJsonText(cycle)).toThrow(TypeError);
});
