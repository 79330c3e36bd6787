/**
 * scripts/sbom.ts: the CycloneDX 1.6 SBOM of Vouch's own release, generated into a temporary
 * folder by running the script as `npm run sbom` would, then checked against the CycloneDX 1.6
 * structure and against package-lock.json read independently here.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

const root = resolve(import.meta.dirname, '..');
const script = join(root, 'scripts', 'sbom.ts');

interface LockEntry {
  version: string;
  integrity?: string;
  dev?: boolean;
  devOptional?: boolean;
  optional?: boolean;
  link?: boolean;
}

const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, LockEntry>;
};
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
};

const lockEntries = Object.entries(lock.packages).filter(([path, e]) => path !== '' && e.link !== true);
const isDev = (e: LockEntry): boolean => e.dev === true || e.devOptional === true;
const nameOf = (path: string): string =>
  path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);

/** generate runs the script in a fresh folder and returns the parsed SBOM. */
function generate(args: readonly string[], outName?: string): Record<string, unknown> {
  const dir = mkdtempSync(join(tmpdir(), 'vouch-sbom-'));
  try {
    const out = outName === undefined ? [] : ['--out', join(dir, outName)];
    const run = spawnSync(process.execPath, [script, ...out, ...args], { cwd: dir, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /CycloneDX 1\.6/);
    return JSON.parse(readFileSync(join(dir, outName ?? 'sbom.cdx.json'), 'utf8')) as Record<string, unknown>;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** parsePurl splits `pkg:npm/[%40scope/]name@version` into the npm name and version. */
function parsePurl(purl: string): { name: string; version: string } {
  const match = /^pkg:npm\/((?:%40[^/@]+\/)?[^/@]+)@([^@?#]+)$/.exec(purl);
  assert.ok(match !== null, `purl ${purl} is not pkg:npm/NAME@VERSION`);
  return { name: decodeURIComponent(match[1] as string), version: decodeURIComponent(match[2] as string) };
}

const hashLength: Record<string, number> = { 'SHA-1': 40, 'SHA-256': 64, 'SHA-384': 96, 'SHA-512': 128 };

/** checkStructure asserts the CycloneDX 1.6 shape and returns the components by bom-ref. */
function checkStructure(sbom: Record<string, unknown>): Map<string, Record<string, unknown>> {
  assert.equal(sbom['bomFormat'], 'CycloneDX');
  assert.equal(sbom['specVersion'], '1.6');
  assert.match(
    sbom['serialNumber'] as string,
    /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
  );
  assert.equal(sbom['version'], 1);
  const metadata = sbom['metadata'] as Record<string, unknown>;
  assert.match(metadata['timestamp'] as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  const component = metadata['component'] as Record<string, unknown>;
  assert.equal(component['type'], 'application');
  assert.equal(component['name'], manifest.name);
  assert.equal(component['version'], manifest.version);
  assert.equal(component['purl'], `pkg:npm/${manifest.name}@${manifest.version}`);
  assert.equal(component['bom-ref'], component['purl']);

  const components = sbom['components'] as Record<string, unknown>[];
  assert.ok(Array.isArray(components));
  const byRef = new Map<string, Record<string, unknown>>();
  for (const c of components) {
    assert.equal(c['type'], 'library');
    const ref = c['bom-ref'] as string;
    assert.ok(!byRef.has(ref), `bom-ref ${ref} is repeated`);
    byRef.set(ref, c);
    assert.equal(c['purl'], ref);
    const { name, version } = parsePurl(c['purl'] as string);
    assert.equal(version, c['version']);
    const group = c['group'] as string | undefined;
    assert.equal(group === undefined ? c['name'] : `${group}/${c['name'] as string}`, name);
    assert.ok(['required', 'optional', 'excluded'].includes(c['scope'] as string));
    const hashes = c['hashes'] as { alg: string; content: string }[];
    assert.ok(Array.isArray(hashes) && hashes.length > 0, `${ref} has no hashes`);
    for (const h of hashes) {
      assert.ok(h.alg in hashLength, `${ref}: unknown hash algorithm ${h.alg}`);
      assert.match(h.content, new RegExp(`^[0-9a-f]{${hashLength[h.alg]}}$`));
    }
    const licenses = c['licenses'] as Record<string, unknown>[] | undefined;
    if (licenses !== undefined) {
      assert.ok(licenses.length > 0);
      for (const l of licenses) assert.ok('expression' in l || 'license' in l);
    }
  }

  const dependencies = sbom['dependencies'] as { ref: string; dependsOn: string[] }[];
  const known = new Set([...byRef.keys(), component['bom-ref'] as string]);
  const listed = new Set<string>();
  for (const d of dependencies) {
    assert.ok(known.has(d.ref), `dependency ref ${d.ref} resolves to no component`);
    assert.ok(!listed.has(d.ref), `dependency ref ${d.ref} is listed twice`);
    listed.add(d.ref);
    for (const on of d.dependsOn)
      assert.ok(known.has(on), `${d.ref} depends on ${on}, which is not a component`);
  }
  assert.deepEqual([...listed].sort(), [...known].sort(), 'every component has its dependencies entry');
  return byRef;
}

/** componentOf returns the component of a lock entry, checking its hash against the lock's integrity. */
function componentOf(
  byRef: Map<string, Record<string, unknown>>,
  path: string,
  entry: LockEntry,
): Record<string, unknown> {
  const name = nameOf(path);
  const found = [...byRef.values()].find((c) => {
    const p = parsePurl(c['purl'] as string);
    return p.name === name && p.version === entry.version;
  });
  assert.ok(found !== undefined, `${path} (${name}@${entry.version}) is not in the SBOM`);
  const [alg, base64] = (entry.integrity as string).split('-', 2) as [string, string];
  assert.equal(alg, 'sha512');
  const hashes = found['hashes'] as { alg: string; content: string }[];
  assert.deepEqual(hashes, [{ alg: 'SHA-512', content: Buffer.from(base64, 'base64').toString('hex') }]);
  return found;
}

test('the SBOM lists every runtime package of the lock, and no dev package', () => {
  const sbom = generate([]);
  const byRef = checkStructure(sbom);
  const runtime = lockEntries.filter(([, e]) => !isDev(e));
  assert.ok(runtime.length > 0);
  for (const [path, entry] of runtime) {
    const c = componentOf(byRef, path, entry);
    assert.equal(c['scope'], entry.optional === true ? 'optional' : 'required');
  }
  // Nothing else: as many components as distinct runtime name@version pairs, none excluded.
  for (const c of byRef.values()) assert.notEqual(c['scope'], 'excluded');
  assert.equal(byRef.size, new Set(runtime.map(([p, e]) => `${nameOf(p)}@${e.version}`)).size);
  // The root depends on exactly its direct runtime dependencies.
  const rootDeps = (sbom['dependencies'] as { ref: string; dependsOn: string[] }[]).find(
    (d) => d.ref === `pkg:npm/${manifest.name}@${manifest.version}`,
  );
  const direct = Object.keys(
    (lock.packages[''] as { dependencies?: Record<string, string> }).dependencies ?? {},
  );
  assert.deepEqual(rootDeps?.dependsOn.map((r) => parsePurl(r).name).sort(), direct.sort());
});

test('--include-dev adds the dev packages with scope "excluded"', () => {
  const sbom = generate(['--include-dev'], 'with-dev.cdx.json');
  const byRef = checkStructure(sbom);
  for (const [path, entry] of lockEntries) {
    const c = componentOf(byRef, path, entry);
    assert.equal(c['scope'], isDev(entry) ? 'excluded' : entry.optional === true ? 'optional' : 'required');
  }
});

test('two runs give different serial numbers and, under SOURCE_DATE_EPOCH, the same timestamp', () => {
  const env = { ...process.env, SOURCE_DATE_EPOCH: '1700000000' };
  const runs = [0, 1].map(() => {
    const dir = mkdtempSync(join(tmpdir(), 'vouch-sbom-'));
    try {
      const run = spawnSync(process.execPath, [script], { cwd: dir, encoding: 'utf8', env });
      assert.equal(run.status, 0, run.stderr);
      return JSON.parse(readFileSync(join(dir, 'sbom.cdx.json'), 'utf8')) as Record<string, unknown>;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  const [a, b] = runs as [Record<string, unknown>, Record<string, unknown>];
  assert.notEqual(a['serialNumber'], b['serialNumber']);
  assert.equal((a['metadata'] as Record<string, unknown>)['timestamp'], '2023-11-14T22:13:20Z');
  assert.deepEqual(a['components'], b['components']);
});
