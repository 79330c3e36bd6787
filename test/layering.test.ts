/**
 * The layering rule of docs/architecture.md, enforced: code depends downward only
 * (core < storage < services < clients < faces), core imports no packages and does no I/O, and
 * only core/crypto may touch Node's built-in modules.
 */

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

const root = resolve(import.meta.dirname, '..');
const src = join(root, 'src');
const layers = ['core', 'storage', 'services', 'clients', 'faces'] as const;

function layerOf(path: string): number {
  const top = relative(src, path).split(/[\\/]/)[0] ?? '';
  return layers.indexOf(top as (typeof layers)[number]);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.ts$/.test(entry.name) && !/\.d\.ts$/.test(entry.name) ? [path] : [];
  });
}

const importPattern =
  /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function importsOf(text: string): string[] {
  return [...text.matchAll(importPattern)].map((m) => (m[1] ?? m[2]) as string);
}

test('every source file lives in a known layer', () => {
  for (const file of sourceFiles(src)) assert.notEqual(layerOf(file), -1, relative(root, file));
});

test('imports point downward only', () => {
  const violations: string[] = [];
  for (const file of sourceFiles(src)) {
    const from = layerOf(file);
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      if (!spec.startsWith('.')) continue;
      const to = layerOf(resolve(dirname(file), spec));
      if (to > from)
        violations.push(`${relative(root, file)} imports ${spec} (${layers[to]} above ${layers[from]})`);
    }
  }
  assert.deepEqual(violations, []);
});

test('core does no I/O and has no dependencies', () => {
  const violations: string[] = [];
  for (const file of sourceFiles(join(src, 'core'))) {
    if (file.endsWith('.test.ts')) continue; // tests may read vectors and use test packages
    const inCrypto = relative(join(src, 'core'), file).startsWith('crypto');
    const text = readFileSync(file, 'utf8');
    for (const spec of importsOf(text)) {
      if (spec.startsWith('.')) continue;
      if (inCrypto && spec === 'node:crypto') continue;
      violations.push(`${relative(root, file)} imports ${spec}`);
    }
    if (!inCrypto) {
      // Comments and plain string literals are not code ('process' may name a Cedar action).
      const code = text
        .replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, '')
        .replace(/'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"/g, "''");
      for (const global of ['Buffer', 'process', 'fetch', 'require', 'setTimeout', 'Date.now']) {
        if (new RegExp(`\\b${global.replace('.', '\\.')}\\b`).test(code)) {
          violations.push(`${relative(root, file)} uses ${global}`);
        }
      }
    }
  }
  assert.deepEqual(violations, []);
});

test('the checker itself sees imports', () => {
  assert.deepEqual(
    importsOf("import { a } from '../x.ts';\nexport * from './y.ts';\nawait import('node:fs');"),
    ['../x.ts', './y.ts', 'node:fs'],
  );
});

test('the dashboard page imports only what a browser can run: core, the log client and itself', () => {
  const dashboard = join(src, 'faces', 'dashboard');
  const allowed = [join(src, 'core'), join(src, 'clients', 'log'), dashboard];
  const violations: string[] = [];
  for (const file of sourceFiles(dashboard)) {
    if (file.endsWith('.test.ts')) continue;
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      const target = resolve(dirname(file), spec);
      if (!spec.startsWith('.') || !allowed.some((dir) => target.startsWith(`${dir}/`))) {
        violations.push(`${relative(root, file)} imports ${spec}`);
      }
    }
  }
  assert.deepEqual(violations, []);
});
