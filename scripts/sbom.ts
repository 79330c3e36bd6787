/**
 * `node scripts/sbom.ts [--out FILE] [--include-dev] [--root DIR]`: writes a CycloneDX 1.6 JSON
 * software bill of materials of Vouch's own release (https://cyclonedx.org/docs/1.6/json/).
 *
 * Everything comes from the repository's `package.json` and `package-lock.json` (lockfile v2 or
 * v3), plus the `package.json` of each installed package for a licence the lock does not state:
 *
 * - `metadata.component` is the package itself (`pkg:npm/vouch@VERSION`);
 * - `components` are the runtime packages of the lock (those not marked `dev` or `devOptional`),
 *   each with its purl (`pkg:npm/...@VERSION`, the scope's `@` percent-encoded), version, scope
 *   (`required`, or `optional` for optional dependencies), the lock's `integrity` as hashes (an
 *   SRI `sha512-<base64>` becomes CycloneDX `SHA-512` in hex), its licence and its lock path;
 * - with `--include-dev`, the dev packages too, with scope `excluded` (not part of the release);
 * - `dependencies` is the graph: each component's (and the root's) dependencies resolved as Node
 *   resolves them within the lock (nearest `node_modules` first), kept only when the target is
 *   itself in the SBOM.
 *
 * A package without an integrity hash in the lock is refused: the SBOM would then name a package
 * whose bytes nothing pins. `metadata.timestamp` is SOURCE_DATE_EPOCH when set (reproducible
 * releases), else the current time; `serialNumber` is a fresh random UUID, as CycloneDX wants
 * one per generated document.
 */

import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

/** LockPackage is the part of a package-lock.json `packages` entry this script reads. */
interface LockPackage {
  readonly name?: string;
  readonly version?: string;
  readonly integrity?: string;
  readonly license?: string;
  readonly dev?: boolean;
  readonly devOptional?: boolean;
  readonly optional?: boolean;
  readonly link?: boolean;
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly optionalDependencies?: Readonly<Record<string, string>>;
  readonly peerDependencies?: Readonly<Record<string, string>>;
  readonly devDependencies?: Readonly<Record<string, string>>;
}

/** SbomOptions select what {@link buildSbom} includes. */
export interface SbomOptions {
  /** root is the folder holding package.json, package-lock.json and node_modules. */
  readonly root: string;
  /** includeDev adds dev packages with scope `excluded`. */
  readonly includeDev?: boolean;
  /** timestamp is `metadata.timestamp` (default: SOURCE_DATE_EPOCH, else now). */
  readonly timestamp?: Date;
}

/** purlOf returns the package URL of an npm package: `pkg:npm/%40scope/name@version`. */
export function purlOf(name: string, version: string): string {
  const encoded = name
    .split('/')
    .map((part) => encodeURIComponent(part))
    .join('/');
  return `pkg:npm/${encoded}@${encodeURIComponent(version)}`;
}

/**
 * hashesOf turns an SRI integrity string (one or more `alg-base64` separated by spaces) into
 * CycloneDX hashes; only SHA-512 (what npm records) and SHA-256/384/1 are known.
 */
export function hashesOf(integrity: string): { alg: string; content: string }[] {
  const names: Readonly<Record<string, string>> = {
    sha512: 'SHA-512',
    sha384: 'SHA-384',
    sha256: 'SHA-256',
    sha1: 'SHA-1',
  };
  const hashes: { alg: string; content: string }[] = [];
  for (const item of integrity.trim().split(/\s+/)) {
    const dash = item.indexOf('-');
    const alg = names[item.slice(0, dash)];
    if (dash <= 0 || alg === undefined)
      throw new Error(`unknown integrity algorithm in ${item.slice(0, 20)}`);
    const digest = Buffer.from(item.slice(dash + 1), 'base64');
    if (digest.toString('base64') !== item.slice(dash + 1))
      throw new Error(`integrity ${item} is not base64`);
    hashes.push({ alg, content: digest.toString('hex') });
  }
  return hashes;
}

/** licensesOf returns CycloneDX licences for a package.json licence string (SPDX expression or a name). */
function licensesOf(license: string | undefined): unknown[] | undefined {
  if (license === undefined || license.trim() === '') return undefined;
  const id = '[A-Za-z0-9][A-Za-z0-9.+-]*';
  const expression = new RegExp(`^\\(?${id}( (OR|AND|WITH) \\(?${id}\\)?)*\\)?$`);
  return expression.test(license) ? [{ expression: license }] : [{ license: { name: license } }];
}

/** nameAt returns the package name of a lock path (`node_modules/a/node_modules/@s/b` → `@s/b`). */
function nameAt(path: string): string {
  const at = path.lastIndexOf('node_modules/');
  return path.slice(at + 'node_modules/'.length);
}

/** resolveIn finds the lock path `name` resolves to from the package at `from`, as Node would. */
function resolveIn(
  packages: Readonly<Record<string, LockPackage>>,
  from: string,
  name: string,
): string | undefined {
  let base = from;
  for (;;) {
    const candidate = base === '' ? `node_modules/${name}` : `${base}/node_modules/${name}`;
    if (packages[candidate] !== undefined) return candidate;
    if (base === '') return undefined;
    const up = base.lastIndexOf('/node_modules/');
    base = up === -1 ? '' : base.slice(0, up);
  }
}

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** buildSbom returns the CycloneDX 1.6 document of the package at `options.root`; see the module comment. */
export function buildSbom(options: SbomOptions): Record<string, unknown> {
  const manifest = readJson(join(options.root, 'package.json')) as LockPackage & { description?: string };
  const lock = readJson(join(options.root, 'package-lock.json')) as {
    lockfileVersion?: number;
    packages?: Record<string, LockPackage>;
  };
  if (lock.packages === undefined || (lock.lockfileVersion ?? 0) < 2) {
    throw new Error('package-lock.json has no "packages" map (lockfile version 2 or 3 is needed)');
  }
  const packages = lock.packages;
  const rootName = manifest.name ?? 'vouch';
  const rootVersion = manifest.version ?? '0.0.0';
  const rootRef = purlOf(rootName, rootVersion);

  const isDev = (p: LockPackage): boolean => p.dev === true || p.devOptional === true;
  const included = new Map<string, string>(); // lock path → bom-ref
  const components: Record<string, unknown>[] = [];
  const seen = new Set<string>();
  for (const [path, entry] of Object.entries(packages).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (path === '' || entry.link === true) continue;
    if (isDev(entry) && options.includeDev !== true) continue;
    const name = entry.name ?? nameAt(path);
    const version = entry.version;
    if (version === undefined) throw new Error(`${path} in package-lock.json has no version`);
    if (entry.integrity === undefined) throw new Error(`${path} in package-lock.json has no integrity hash`);
    const ref = purlOf(name, version);
    included.set(path, ref);
    if (seen.has(ref)) continue; // the same name@version installed at two paths is one component
    seen.add(ref);
    let license = entry.license;
    if (license === undefined) {
      try {
        const installed = readJson(join(options.root, path, 'package.json')) as { license?: unknown };
        if (typeof installed.license === 'string') license = installed.license;
      } catch {
        // Not installed here (an optional package for another platform): the lock is all there is.
      }
    }
    const slash = name.startsWith('@') ? name.indexOf('/') : -1;
    const licenses = licensesOf(license);
    components.push({
      type: 'library',
      'bom-ref': ref,
      ...(slash === -1 ? { name } : { group: name.slice(0, slash), name: name.slice(slash + 1) }),
      version,
      scope: isDev(entry) ? 'excluded' : entry.optional === true ? 'optional' : 'required',
      hashes: hashesOf(entry.integrity),
      ...(licenses === undefined ? {} : { licenses }),
      purl: ref,
      properties: [
        { name: 'cdx:npm:package:path', value: path },
        ...(isDev(entry) ? [{ name: 'cdx:npm:package:development', value: 'true' }] : []),
      ],
    });
  }

  const edges = new Map<string, Set<string>>([[rootRef, new Set()]]);
  for (const ref of seen) edges.set(ref, new Set());
  const addEdges = (from: string, ref: string, entry: LockPackage, withDev: boolean): void => {
    const names = new Set([
      ...Object.keys(entry.dependencies ?? {}),
      ...Object.keys(entry.optionalDependencies ?? {}),
      ...Object.keys(entry.peerDependencies ?? {}),
      ...(withDev ? Object.keys(entry.devDependencies ?? {}) : []),
    ]);
    for (const name of names) {
      const target = resolveIn(packages, from, name);
      const targetRef = target === undefined ? undefined : included.get(target);
      if (targetRef !== undefined && targetRef !== ref) edges.get(ref)?.add(targetRef);
    }
  };
  addEdges('', rootRef, packages[''] ?? manifest, options.includeDev === true);
  for (const [path, ref] of included) addEdges(path, ref, packages[path] as LockPackage, false);

  const epoch = process.env['SOURCE_DATE_EPOCH'];
  const timestamp =
    options.timestamp ??
    (epoch !== undefined && /^\d+$/.test(epoch) ? new Date(Number(epoch) * 1000) : new Date());
  const rootLicenses = licensesOf(manifest.license);
  return {
    $schema: 'http://cyclonedx.org/schema/bom-1.6.schema.json',
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: `urn:uuid:${randomUUID()}`,
    version: 1,
    metadata: {
      timestamp: timestamp.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      tools: {
        components: [{ type: 'application', name: 'vouch scripts/sbom.ts', version: rootVersion }],
      },
      component: {
        type: 'application',
        'bom-ref': rootRef,
        name: rootName,
        version: rootVersion,
        ...(manifest.description === undefined ? {} : { description: manifest.description }),
        ...(rootLicenses === undefined ? {} : { licenses: rootLicenses }),
        purl: rootRef,
      },
      lifecycles: [{ phase: 'build' }],
    },
    components,
    dependencies: [...edges].map(([ref, on]) => ({ ref, dependsOn: [...on].sort() })),
  };
}

function main(): void {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: 'sbom.cdx.json' },
      'include-dev': { type: 'boolean', default: false },
      root: { type: 'string', default: resolve(import.meta.dirname, '..') },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write('usage: node scripts/sbom.ts [--out FILE] [--include-dev] [--root DIR]\n');
    return;
  }
  const sbom = buildSbom({ root: resolve(values.root), includeDev: values['include-dev'] });
  const out = resolve(values.out);
  writeFileSync(out, `${JSON.stringify(sbom, null, 2)}\n`);
  const count = (sbom['components'] as unknown[]).length;
  process.stdout.write(`wrote ${out}: CycloneDX 1.6, ${count} components\n`);
}

if (import.meta.main) main();
