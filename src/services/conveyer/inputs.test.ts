import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type Recipe, type RecipeInput, recipeFromJson } from '../../core/build/recipe.ts';
import { isVouchError } from '../../core/errors.ts';
import { casPath, fetchInputs } from './inputs.ts';

const good = new TextEncoder().encode('pinned remote bytes\n');
const goodSha = createHash('sha256').update(good).digest('hex');

/** serve starts a server on 127.0.0.1 answering every path from `routes`; counts requests. */
async function serve(t: { after: (fn: () => Promise<void>) => void }) {
  const hits: string[] = [];
  const server: Server = createServer((request, response) => {
    hits.push(request.url ?? '');
    switch (request.url) {
      case '/good':
        response.end(good);
        return;
      case '/wrong':
        response.end(new TextEncoder().encode('other remote bytes!\n'));
        return;
      case '/huge-declared':
        response.writeHead(200, { 'content-length': String(good.length * 100) });
        response.end(new Uint8Array(good.length * 100));
        return;
      case '/huge-chunked': {
        // No content-length: the cap must stop the stream itself.
        response.writeHead(200, { 'transfer-encoding': 'chunked' });
        const chunk = new Uint8Array(16 * 1024);
        let sent = 0;
        const pump = () => {
          while (sent < 64 && response.write(chunk)) sent++;
          if (sent < 64) response.once('drain', pump);
          else response.end();
        };
        pump();
        return;
      }
      case '/stall':
        response.writeHead(200, { 'content-length': String(good.length) });
        response.write(good.slice(0, 3));
        return;
      default:
        response.writeHead(404).end();
    }
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  t.after(
    () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  );
  const { port } = server.address() as AddressInfo;
  return { base: `http://127.0.0.1:${port}`, hits };
}

function recipeWith(inputs: readonly Partial<RecipeInput>[]): Recipe {
  return recipeFromJson({
    name: 'r',
    version: '1',
    inputs: inputs.map((input) => ({
      name: 'in.bin',
      kind: 'file',
      sha256: goodSha,
      size: good.length,
      ...input,
    })),
    tools: [],
    steps: [{ name: 's', argv: ['/bin/true'], timeoutSeconds: 1 }],
    outputs: ['x'],
    packing: { format: 'tar.gz' },
  });
}

function folders(t: { after: (fn: () => void) => void }) {
  const dir = mkdtempSync(join(tmpdir(), 'vouch-inputs-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const inputsDir = join(dir, 'inputs');
  mkdirSync(inputsDir);
  return { recipeDir: dir, inputsDir, casDir: join(dir, 'cas') };
}

test('a remote input is fetched into the store, recorded with its URL and reused', async (t) => {
  const { base, hits } = await serve(t);
  const dirs = folders(t);
  const recipe = recipeWith([{ url: `${base}/good` }]);
  const resolved = await fetchInputs(recipe, dirs);
  assert.deepEqual(resolved, [{ name: 'in.bin', uri: `${base}/good`, sha256: goodSha }]);
  assert.deepEqual(new Uint8Array(readFileSync(join(dirs.inputsDir, 'in.bin'))), good);
  assert.deepEqual(new Uint8Array(readFileSync(casPath(dirs.casDir, goodSha))), good);
  assert.deepEqual(readdirSync(join(dirs.casDir, 'sha256')), [goodSha], 'no temporary file is left');

  rmSync(join(dirs.inputsDir, 'in.bin'));
  await fetchInputs(recipe, dirs);
  assert.equal(hits.length, 1, 'the second use is served from the store');
});

test('a corrupted store entry is verified on use and fetched again', async (t) => {
  const { base, hits } = await serve(t);
  const dirs = folders(t);
  const recipe = recipeWith([{ url: `${base}/good` }]);
  await fetchInputs(recipe, dirs);
  writeFileSync(casPath(dirs.casDir, goodSha), 'tampered bytes in the cache');
  rmSync(join(dirs.inputsDir, 'in.bin'));
  await fetchInputs(recipe, dirs);
  assert.equal(hits.length, 2);
  assert.deepEqual(new Uint8Array(readFileSync(join(dirs.inputsDir, 'in.bin'))), good);
});

test('bad downloads stop before anything is visible to the build', async (t) => {
  const { base } = await serve(t);
  const rows = [
    {
      name: 'wrong bytes',
      path: '/wrong',
      code: 'bad-digest',
      message: /in\.bin.*expected sha256 [0-9a-f]{64}.*got [0-9a-f]{64}/,
    },
    {
      name: 'declared larger than the pin',
      path: '/huge-declared',
      code: 'too-large',
      message: /in\.bin.*larger/,
    },
    { name: 'streamed past the pin', path: '/huge-chunked', code: 'too-large', message: /in\.bin.*larger/ },
    { name: 'not found', path: '/missing', code: 'unavailable', message: /in\.bin.*404/ },
    { name: 'stalls past the timeout', path: '/stall', code: 'unavailable', message: /in\.bin.*timed out/ },
  ];
  for (const row of rows) {
    const dirs = folders(t);
    await assert.rejects(
      fetchInputs(recipeWith([{ url: `${base}${row.path}` }]), { ...dirs, timeoutMs: 300 }),
      (error: unknown) => isVouchError(error) && error.code === row.code && row.message.test(error.message),
      row.name,
    );
    assert.equal(existsSync(casPath(dirs.casDir, goodSha)), false, `${row.name}: nothing stored`);
    assert.deepEqual(readdirSync(dirs.inputsDir), [], `${row.name}: nothing visible`);
    const stored = existsSync(join(dirs.casDir, 'sha256')) ? readdirSync(join(dirs.casDir, 'sha256')) : [];
    assert.deepEqual(stored, [], `${row.name}: no temporary file left`);
  }
});

test('local inputs are checked against their pin, naming both digests', async (t) => {
  const dirs = folders(t);
  writeFileSync(join(dirs.recipeDir, 'local.bin'), 'not the pinned bytes');
  await assert.rejects(
    fetchInputs(recipeWith([{ path: 'local.bin' }]), dirs),
    (error: unknown) =>
      isVouchError(error) &&
      error.code === 'bad-digest' &&
      error.message.includes(goodSha) &&
      error.details?.['input'] === 'in.bin',
  );
  writeFileSync(join(dirs.recipeDir, 'local.bin'), good);
  assert.deepEqual(await fetchInputs(recipeWith([{ path: 'local.bin' }]), dirs), [
    { name: 'in.bin', sha256: goodSha },
  ]);
});
