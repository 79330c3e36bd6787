import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { concatBytes, equalBytes, formatUint64, toBytes } from '../bytes/index.ts';
import { isVouchError } from '../errors.ts';
import { bundleMagic, packDatabaseBundle, unpackDatabaseBundle } from './bundle.ts';
import { buildDatabase, type DatabaseFiles } from './database.ts';

function database(version = 7): DatabaseFiles {
  const digest = new Uint8Array(32).fill(9);
  return buildDatabase({
    name: 'main',
    version,
    created: 1_700_000_000,
    engine: { min: 1, max: 1 },
    hashes: [{ digest, size: 68, name: 'Eicar.Test' }],
    allow: [new Uint8Array(32).fill(1)],
    yara: new Map([
      ['b.yar', toBytes('rule b { condition: true }\n')],
      ['a.yar', toBytes('rule a { condition: false }\n')],
    ]),
  });
}

function member(name: string, bytes: Uint8Array): Uint8Array {
  const nameBytes = toBytes(name);
  const length = new Uint8Array(4);
  new DataView(length.buffer).setUint32(0, nameBytes.length);
  return concatBytes(length, nameBytes, formatUint64(BigInt(bytes.length)), bytes);
}

function bundleOf(members: readonly (readonly [string, Uint8Array])[]): Uint8Array {
  return concatBytes(toBytes(bundleMagic), ...members.map(([n, b]) => member(n, b)));
}

function throwsCode(fn: () => unknown, code: string, pattern?: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(isVouchError(error), String(error));
    assert.equal(error.code, code, error.message);
    if (pattern !== undefined) assert.match(error.message, pattern);
    return true;
  });
}

describe('rule database bundles', () => {
  test('pack then unpack gives the same files, and pack is deterministic', () => {
    const files = database();
    const bundle = packDatabaseBundle(files);
    assert.ok(equalBytes(bundle.subarray(0, bundleMagic.length), toBytes(bundleMagic)));
    const reversed = new Map([...files.entries()].reverse());
    assert.ok(equalBytes(packDatabaseBundle(reversed), bundle), 'member order does not matter');
    const back = unpackDatabaseBundle(bundle);
    assert.deepEqual([...back.keys()], ['hashes.vhdb', 'manifest.json', 'yara/a.yar', 'yara/b.yar']);
    for (const [name, bytes] of files) assert.ok(equalBytes(back.get(name) ?? new Uint8Array(), bytes), name);
    assert.ok(equalBytes(packDatabaseBundle(back), bundle));
  });

  const sorted = [...database().entries()].sort(([a], [b]) => (a < b ? -1 : 1));
  const rows: readonly { name: string; bytes: () => Uint8Array; code: string; pattern: RegExp }[] = [
    {
      name: 'bad magic',
      bytes: () => toBytes('vouch-rules-bundle/v2\n'),
      code: 'malformed',
      pattern: /magic/,
    },
    {
      name: 'unsorted members',
      bytes: () => bundleOf([...sorted].reverse()),
      code: 'malformed',
      pattern: /out of order/,
    },
    {
      name: 'duplicate member',
      bytes: () => bundleOf([...sorted, sorted[sorted.length - 1] as [string, Uint8Array]]),
      code: 'malformed',
      pattern: /repeated or out of order/,
    },
    {
      name: 'foreign member name',
      bytes: () => bundleOf([...sorted, ['zz/../../etc/passwd', toBytes('x')]]),
      code: 'malformed',
      pattern: /not a database member/,
    },
    {
      name: 'truncated content',
      bytes: () => bundleOf(sorted).subarray(0, bundleOf(sorted).length - 3),
      code: 'malformed',
      pattern: /truncated/,
    },
    {
      name: 'oversized YARA member length',
      bytes: () =>
        concatBytes(
          toBytes(bundleMagic),
          member('yara/a.yar', new Uint8Array(0)).subarray(0, 14),
          formatUint64(1n << 40n),
        ),
      code: 'too-large',
      pattern: /yara\/a\.yar/,
    },
    {
      name: 'missing manifest',
      bytes: () => bundleOf(sorted.filter(([n]) => n !== 'manifest.json')),
      code: 'malformed',
      pattern: /manifest\.json is missing/,
    },
    {
      name: 'member changed after the manifest',
      bytes: () =>
        bundleOf(
          sorted.map(([n, b]) => [n, n === 'yara/b.yar' ? toBytes('rule b { condition: false }\n') : b]),
        ),
      code: 'bad-digest',
      pattern: /yara\/b\.yar/,
    },
  ];
  for (const row of rows) {
    test(`refuses: ${row.name}`, () =>
      throwsCode(() => unpackDatabaseBundle(row.bytes()), row.code, row.pattern));
  }

  test('pack refuses a file that is not a member', () => {
    const files = new Map(database());
    files.set('../evil', new Uint8Array(1));
    throwsCode(() => packDatabaseBundle(files), 'malformed');
  });

  test('fuzz: any bytes give files or a VouchError, never another throw', () => {
    const good = packDatabaseBundle(database());
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: good.length }),
        fc.uint8Array({ maxLength: 16 }),
        fc.integer({ min: 0, max: good.length }),
        (cut, noise, at) => {
          const mutated = concatBytes(
            good.subarray(0, at),
            noise,
            good.subarray(at, cut > at ? cut : good.length),
          );
          try {
            unpackDatabaseBundle(mutated);
          } catch (error) {
            assert.ok(isVouchError(error), String(error));
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
