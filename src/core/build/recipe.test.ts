import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isVouchError } from '../errors.ts';
import { formatRecipe, isSafeRelativePath, parseRecipe, recipeLimits } from './recipe.ts';

const pin = 'a'.repeat(64);
const good = {
  name: 'hello',
  version: '1.0.0',
  inputs: [{ name: 'greeting.txt', kind: 'file', path: 'greeting.txt', sha256: pin, size: 13 }],
  tools: ['/usr/bin/sh'],
  steps: [{ name: 'generate', argv: ['/bin/sh', '/build/src/build.sh'], timeoutSeconds: 60 }],
  outputs: ['hello.txt', 'bin'],
  packing: { format: 'tar.gz' },
};
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

test('a valid recipe parses, is frozen and round trips', () => {
  const recipe = parseRecipe(encode(good));
  assert.equal(recipe.name, 'hello');
  assert.deepEqual(recipe.steps[0]?.argv, ['/bin/sh', '/build/src/build.sh']);
  assert.ok(Object.isFrozen(recipe) && Object.isFrozen(recipe.inputs[0]));
  assert.deepEqual(parseRecipe(formatRecipe(recipe)), recipe);
  const { path: _path, ...pinned } = good.inputs[0] ?? {};
  const remote = parseRecipe(
    encode({
      ...good,
      inputs: [{ ...pinned, url: 'http://127.0.0.1:8080/g' }],
      steps: [{ ...good.steps[0], limits: { cpuSeconds: 5, fileSizeBytes: 0, processes: 64 } }],
    }),
  );
  assert.equal(remote.inputs[0]?.url, 'http://127.0.0.1:8080/g');
  assert.deepEqual(remote.steps[0]?.limits, { cpuSeconds: 5, fileSizeBytes: 0, processes: 64 });
  assert.deepEqual(parseRecipe(formatRecipe(remote)), remote);
});

test('bad recipes name every bad field path', async (t) => {
  const rows: readonly { name: string; change: (r: Record<string, unknown>) => void; fields: string[] }[] = [
    { name: 'unknown top-level field', change: (r) => (r['shell'] = 'x'), fields: ['shell'] },
    { name: 'missing name', change: (r) => delete r['name'], fields: ['name'] },
    {
      name: 'unknown input field and bad pin',
      change: (r) => (r['inputs'] = [{ ...good.inputs[0], sha256: 'AB', extra: 1 }]),
      fields: ['inputs[0].extra', 'inputs[0].sha256'],
    },
    {
      name: 'input with both path and url',
      change: (r) => (r['inputs'] = [{ ...good.inputs[0], url: 'https://example.com/x' }]),
      fields: ['inputs[0]'],
    },
    {
      name: 'input path escaping the folder',
      change: (r) => (r['inputs'] = [{ ...good.inputs[0], path: '../secret' }]),
      fields: ['inputs[0].path'],
    },
    { name: 'relative tool', change: (r) => (r['tools'] = ['usr/bin/sh']), fields: ['tools[0]'] },
    {
      name: 'shell string instead of argv',
      change: (r) => (r['steps'] = [{ name: 's', argv: 'make all', timeoutSeconds: 1 }]),
      fields: ['steps[0].argv'],
    },
    {
      name: 'relative program and zero timeout',
      change: (r) => (r['steps'] = [{ name: 's', argv: ['make'], timeoutSeconds: 0 }]),
      fields: ['steps[0].argv[0]', 'steps[0].timeoutSeconds'],
    },
    { name: 'no steps', change: (r) => (r['steps'] = []), fields: ['steps'] },
    {
      name: 'output outside',
      change: (r) => (r['outputs'] = ['/etc/passwd', 'a/../b']),
      fields: ['outputs[0]', 'outputs[1]'],
    },
    { name: 'duplicate outputs', change: (r) => (r['outputs'] = ['a', 'a']), fields: ['outputs[1]'] },
    { name: 'other packing', change: (r) => (r['packing'] = { format: 'zip' }), fields: ['packing.format'] },
    {
      name: 'input url of another scheme',
      change: (r) => {
        const { path: _path, ...pinned } = good.inputs[0] ?? {};
        r['inputs'] = [{ ...pinned, url: 'ftp://example.com/x' }];
      },
      fields: ['inputs[0].url'],
    },
    {
      name: 'bad and unknown step limits',
      change: (r) =>
        (r['steps'] = [
          {
            ...good.steps[0],
            limits: { cpuSeconds: 0, addressSpaceBytes: 1, fileSizeBytes: -1, wallMs: 1 },
          },
        ]),
      fields: [
        'steps[0].limits.wallMs',
        'steps[0].limits.cpuSeconds',
        'steps[0].limits.addressSpaceBytes',
        'steps[0].limits.fileSizeBytes',
      ],
    },
    {
      name: 'limits not an object',
      change: (r) => (r['steps'] = [{ ...good.steps[0], limits: 5 }]),
      fields: ['steps[0].limits'],
    },
  ];
  for (const row of rows) {
    await t.test(row.name, () => {
      const copy: Record<string, unknown> = structuredClone(good);
      row.change(copy);
      assert.throws(
        () => parseRecipe(encode(copy)),
        (e: unknown) =>
          isVouchError(e, 'malformed') && JSON.stringify(e.details.fields) === JSON.stringify(row.fields),
      );
    });
  }
});

test('caps are enforced before validation', async (t) => {
  await t.test('too many steps', () => {
    const steps = Array.from({ length: recipeLimits.maxSteps + 1 }, () => good.steps[0]);
    assert.throws(
      () => parseRecipe(encode({ ...good, steps })),
      (e: unknown) => isVouchError(e, 'too-large'),
    );
  });
  await t.test('too many bytes', () => {
    const bytes = encode({ ...good, name: 'x'.repeat(recipeLimits.maxBytes) });
    assert.throws(
      () => parseRecipe(bytes),
      (e: unknown) => isVouchError(e, 'too-large'),
    );
  });
});

test('isSafeRelativePath', () => {
  for (const ok of ['a', 'a/b', 'a.b/c-d']) assert.ok(isSafeRelativePath(ok), ok);
  for (const bad of ['', '/a', 'a/', 'a//b', '.', 'a/./b', '..', 'a/..', 'a\nb', 'a\\b']) {
    assert.ok(!isSafeRelativePath(bad), bad);
  }
});

test('parseRecipe returns a recipe or a VouchError, never another throw', () => {
  fc.assert(
    fc.property(fc.oneof(fc.json(), fc.string()), (text) => {
      try {
        parseRecipe(new TextEncoder().encode(text));
      } catch (e) {
        if (!isVouchError(e)) throw e;
      }
    }),
    { seed: 5, numRuns: 500 },
  );
});
