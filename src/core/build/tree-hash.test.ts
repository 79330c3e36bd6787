import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { isVouchError } from '../errors.ts';
import { computeTreeHash, formatTree, type TreeEntry, treeModeOf } from './tree-hash.ts';

const h = (c: string) => c.repeat(64);
const entries: TreeEntry[] = [
  { path: 'src/main.sh', mode: '100755', sha256: h('b') },
  { path: 'README', mode: '100644', sha256: h('a') },
  { path: 'src-link', mode: '120000', sha256: h('c') },
  { path: 'é', mode: '100644', sha256: h('d') },
];

test('the encoding is exactly as documented, sorted by UTF-8 bytes', () => {
  const expected =
    'vouch-tree-v1\n' +
    `100644 ${h('a')} README\n` +
    `120000 ${h('c')} src-link\n` +
    `100755 ${h('b')} src/main.sh\n` +
    `100644 ${h('d')} é\n`;
  assert.equal(new TextDecoder().decode(formatTree(entries)), expected);
  assert.equal(computeTreeHash(entries), createHash('sha256').update(expected, 'utf8').digest('hex'));
});

test('the hash does not depend on entry order, and changes with any field', () => {
  const base = computeTreeHash(entries);
  assert.equal(computeTreeHash([...entries].reverse()), base);
  const first = entries[0] as TreeEntry;
  for (const changed of [
    { ...first, mode: '100644' as const },
    { ...first, sha256: h('e') },
    { ...first, path: 'src/main2.sh' },
  ]) {
    assert.notEqual(computeTreeHash([changed, ...entries.slice(1)]), base);
  }
});

test('bad entries are refused', async (t) => {
  const rows: readonly [string, TreeEntry[]][] = [
    ['dot-dot path', [{ path: '../x', mode: '100644', sha256: h('a') }]],
    ['newline in path', [{ path: 'a\nb', mode: '100644', sha256: h('a') }]],
    ['unknown mode', [{ path: 'a', mode: '100600' as '100644', sha256: h('a') }]],
    ['uppercase digest', [{ path: 'a', mode: '100644', sha256: h('A') }]],
    [
      'duplicate path',
      [
        { path: 'a', mode: '100644', sha256: h('a') },
        { path: 'a', mode: '100755', sha256: h('b') },
      ],
    ],
  ];
  for (const [name, list] of rows) {
    await t.test(name, () => {
      assert.throws(
        () => computeTreeHash(list),
        (e: unknown) => isVouchError(e, 'invalid-argument'),
      );
    });
  }
});

test('treeModeOf normalises modes', () => {
  assert.equal(treeModeOf(0o100600), '100644');
  assert.equal(treeModeOf(0o100700), '100755');
  assert.equal(treeModeOf(0o100641), '100755');
  assert.equal(treeModeOf(0o120777), '120000');
  assert.equal(treeModeOf(0o040755), undefined);
});

test('an empty tree hashes the header alone', () => {
  assert.equal(computeTreeHash([]), createHash('sha256').update('vouch-tree-v1\n').digest('hex'));
});
