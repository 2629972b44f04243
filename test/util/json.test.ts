import { LosslessNumber, parse as losslessParse, stringify as losslessStringify } from 'lossless-json';
import { describe, expect, it } from 'vitest';
import { parseJson, toJson } from '../../src/util/json.ts';

// The reference: lossless-json itself, with the number rule parseJson documents.
function reference(text: string): unknown {
  return losslessParse(text, null, (n) => (/^-?\d+$/.test(n) ? (Number.isSafeInteger(Number(n)) && String(Number(n)) === n.replace(/^-0$/, '0') ? Number(n) : BigInt(n)) : new LosslessNumber(n)));
}

describe('parseJson', () => {
  it('keeps 64-bit ids exact and non-integers as written', () => {
    const value = parseJson('{"snapshot-id": 9182736450918273645, "n": -1234567890123456789, "small": 42, "d": 1.50, "e": 1E+5, "z": -0.0}');
    expect(value).toEqual({ 'snapshot-id': 9182736450918273645n, n: -1234567890123456789n, small: 42, d: new LosslessNumber('1.50'), e: new LosslessNumber('1E+5'), z: new LosslessNumber('-0.0') });
    expect(toJson(value)).toBe('{"snapshot-id":9182736450918273645,"n":-1234567890123456789,"small":42,"d":1.50,"e":1E+5,"z":-0.0}');
  });

  it('leaves digits inside strings alone, also after a colon or a comma', () => {
    const text = '{"a":"x:12345678901234567890","b":"1,2.5","c":["[3.5",",7e3"],"id":12345678901234567890}';
    expect(parseJson(text)).toEqual({ a: 'x:12345678901234567890', b: '1,2.5', c: ['[3.5', ',7e3'], id: 12345678901234567890n });
  });

  it('reads strings holding an escaped NUL, and top-level numbers', () => {
    expect(parseJson('{"a":"\\u0000x","id":12345678901234567890}')).toEqual({ a: '\u0000x', id: 12345678901234567890n });
    expect(parseJson(' 12345678901234567890')).toBe(12345678901234567890n);
    expect(parseJson('-2.50')).toEqual(new LosslessNumber('-2.50'));
  });

  it.each(['01', '[01234567890123456789]', '1.', '[1.]', '-', '[1e]', '[1,]', '{"a":1', '"abc', '{"a" 1}', '[1 2]', '+1', '.5', 'NaN', '[12345678901234567890.]', '[12345678901234567890abc]', '{"a":1.5.3}', '"\t"'])(
    'refuses malformed text %j with a position, as lossless-json does',
    (text) => {
      let expected = '';
      try {
        losslessParse(text);
      } catch (error) {
        expected = (error as Error).message;
      }
      expect(expected).not.toBe('');
      expect(() => parseJson(text)).toThrow(expected);
    },
  );

  it('agrees with lossless-json on generated documents', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)]!;
    const numberText = () => pick(['0', '-0', '7', '123456789012345', '1234567890123456', '9007199254740993', '-9223372036854775808', '0.1', '1.0', '2e10', '-3.25E-7', '12345678901234567890.5']);
    const stringText = () => JSON.stringify(pick(['', 'a', 'x:123456789012345678', '1,2.5e3', '[9999999999999999999', 'é "q" \\ \n', 's3://b/k/snap-1234567890123456789-1.avro']));
    const valueText = (depth: number): string => {
      const kind = depth > 3 ? pick(['n', 's', 'l']) : pick(['n', 's', 'l', 'a', 'o', 'o']);
      if (kind === 'n') return numberText();
      if (kind === 's') return stringText();
      if (kind === 'l') return pick(['true', 'false', 'null']);
      const n = Math.floor(random() * 4);
      const ws = () => pick(['', ' ', '\n  ']);
      if (kind === 'a') return `[${ws()}${Array.from({ length: n }, () => valueText(depth + 1)).join(`,${ws()}`)}]`;
      return `{${ws()}${Array.from({ length: n }, (_, i) => `"k${i}":${ws()}${valueText(depth + 1)}`).join(`,${ws()}`)}}`;
    };
    for (let i = 0; i < 500; i++) {
      const text = valueText(0);
      const value = parseJson(text);
      expect(value, text).toEqual(reference(text));
      expect(toJson(value), text).toBe(losslessStringify(reference(text) as never));
    }
  });
});

describe('toJson', () => {
  it('writes bigint and LosslessNumber values as numbers, with or without indentation', () => {
    const value = { id: 9223372036854775807n, list: [1n, new LosslessNumber('0.50')], s: 'text' };
    expect(toJson(value)).toBe('{"id":9223372036854775807,"list":[1,0.50],"s":"text"}');
    expect(toJson(value, 2)).toBe(losslessStringify(value as never, undefined, 2));
  });

  it('writes a string that starts with NUL as a string', () => {
    expect(toJson({ a: '\u0000123', id: 5n })).toBe('{"a":"\\u0000123","id":5}');
    expect(parseJson(toJson({ a: '\u0000123', id: 12345678901234567890n }))).toEqual({ a: '\u0000123', id: 12345678901234567890n });
  });

  it('refuses what cannot be JSON', () => {
    expect(() => toJson(undefined)).toThrow(TypeError);
  });
});
