import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isVouchError } from '../errors.ts';
import { configuredServices, parseListenAddress, parseServeConfig } from './serve-config.ts';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

test('parseServeConfig reads every section with its defaults', () => {
  const config = parseServeConfig(
    bytes(
      [
        'listen: 127.0.0.1:8080',
        'log:',
        '  dir: log',
        '  database_url: postgres://vouch@db/vouch',
        'witness:',
        '  dir: /srv/witness',
        'repository:',
        '  dir: repo',
        'site:',
        '  dir: site',
        'dashboard:',
        '',
      ].join('\n'),
    ),
    'vouch.yaml',
  );
  assert.deepEqual(config, {
    listen: { host: '127.0.0.1', port: 8080 },
    metrics: true,
    shutdownGraceSeconds: 10,
    log: { dir: 'log', databaseUrl: 'postgres://vouch@db/vouch' },
    witness: { dir: '/srv/witness' },
    repository: { dir: 'repo' },
    site: { dir: 'site' },
    dashboard: {},
  });
  assert.deepEqual(configuredServices(config), ['log', 'witness', 'repository', 'site', 'dashboard']);
  const small = parseServeConfig(
    bytes('listen: "[::1]:0"\nmetrics: false\nshutdown_grace_seconds: 0\nsite:\n  dir: s\n'),
    'x.yaml',
  );
  assert.deepEqual(small.listen, { host: '::1', port: 0 });
  assert.equal(small.metrics, false);
  assert.equal(small.shutdownGraceSeconds, 0);
  assert.deepEqual(configuredServices(small), ['site']);
});

test('the dashboard section names the world it shows and the anchors it offers', () => {
  const config = parseServeConfig(
    bytes(
      [
        'listen: 127.0.0.1:0',
        'dashboard:',
        '  audit_config: audit/audit.json',
        '  reports: audit/report',
        '  registry: ch/registry.json',
        '  registry_vkey: r.example+01020304+AAAA',
        '  auditor_vkey: a.example+01020304+AAAA',
        '',
      ].join('\n'),
    ),
    'vouch.yaml',
  );
  assert.deepEqual(config.dashboard, {
    auditConfig: 'audit/audit.json',
    reports: 'audit/report',
    registry: 'ch/registry.json',
    registryVkey: 'r.example+01020304+AAAA',
    auditorVkey: 'a.example+01020304+AAAA',
  });
  assert.throws(
    () => parseServeConfig(bytes('listen: 127.0.0.1:0\ndashboard:\n  dir: pages\n  reports: 3\n'), 'v.yaml'),
    (e) =>
      isVouchError(e, 'invalid-argument') &&
      /v\.yaml: dashboard\.dir: expected no such key \(expected audit_config, reports, registry, registry_vkey, auditor_vkey\); dashboard\.reports: expected a folder path/.test(
        e.message,
      ),
  );
});

const bad: readonly { name: string; doc: string; fields: readonly string[]; message: RegExp }[] = [
  { name: 'no listen', doc: 'site:\n  dir: s', fields: ['listen'], message: /listen: expected HOST:PORT/ },
  {
    name: 'listen not an address',
    doc: 'listen: nowhere\nsite:\n  dir: s',
    fields: ['listen'],
    message: /HOST:PORT/,
  },
  {
    name: 'listen port too big',
    doc: 'listen: a:70000\nsite:\n  dir: s',
    fields: ['listen'],
    message: /0 to 65535/,
  },
  { name: 'listen a number', doc: 'listen: 8080\nsite:\n  dir: s', fields: ['listen'], message: /listen/ },
  {
    name: 'metrics not boolean',
    doc: 'listen: a:1\nmetrics: "yes"\nsite:\n  dir: s',
    fields: ['metrics'],
    message: /metrics: expected true or false/,
  },
  {
    name: 'grace negative',
    doc: 'listen: a:1\nshutdown_grace_seconds: -1\nsite:\n  dir: s',
    fields: ['shutdown_grace_seconds'],
    message: /0 to 600/,
  },
  {
    name: 'unknown top key',
    doc: 'listen: a:1\nlogs:\n  dir: x\nsite:\n  dir: s',
    fields: ['logs'],
    message: /logs: expected no such key/,
  },
  { name: 'no service', doc: 'listen: a:1', fields: ['(top)'], message: /at least one service/ },
  {
    name: 'site without dir',
    doc: 'listen: a:1\nsite:\n  database: x',
    fields: ['site.database', 'site.dir'],
    message: /site\.dir: expected a folder path \(required\)/,
  },
  {
    name: 'site dir empty',
    doc: 'listen: a:1\nsite:\n  dir: ""',
    fields: ['site.dir'],
    message: /site\.dir: expected a folder path/,
  },
  {
    name: 'site dir a number',
    doc: 'listen: a:1\nsite:\n  dir: 5',
    fields: ['site.dir'],
    message: /site\.dir/,
  },
  {
    name: 'log a scalar',
    doc: 'listen: a:1\nlog: here',
    fields: ['log'],
    message: /log: expected a mapping with log\.dir, log\.database_url/,
  },
  {
    name: 'witness database_url a list',
    doc: 'listen: a:1\nwitness:\n  dir: w\n  database_url:\n    - x',
    fields: ['witness.database_url'],
    message: /witness\.database_url: expected a non-empty string/,
  },
  {
    name: 'repository extra key',
    doc: 'listen: a:1\nrepository:\n  dir: r\n  port: 1',
    fields: ['repository.port'],
    message: /repository\.port: expected no such key/,
  },
  {
    name: 'several problems',
    doc: 'metrics: 1\nsite:\n  dir: 2',
    fields: ['listen', 'metrics', 'site.dir'],
    message: /listen: .*; metrics: .*; site\.dir: /,
  },
];

for (const row of bad) {
  test(`parseServeConfig refuses: ${row.name}, naming the file and key`, () => {
    assert.throws(
      () => parseServeConfig(bytes(row.doc), 'conf/vouch.yaml'),
      (error: unknown) => {
        assert.ok(isVouchError(error, 'invalid-argument'), String(error));
        assert.ok(error.message.startsWith('conf/vouch.yaml: '), error.message);
        assert.match(error.message, row.message);
        assert.deepEqual([...(error.details.fields ?? [])].sort(), [...row.fields].sort());
        return true;
      },
    );
  });
}

test('parseServeConfig passes YAML errors through with the file, line and column', () => {
  assert.throws(
    () => parseServeConfig(bytes('listen: a:1\nsite:\n  dir: [x]\n'), 'vouch.yaml'),
    (error: unknown) => isVouchError(error, 'malformed') && error.message.startsWith('vouch.yaml:3:8: flow'),
  );
  assert.throws(
    () => parseServeConfig(bytes('- a\n'), 'vouch.yaml'),
    (error: unknown) => isVouchError(error, 'invalid-argument') && /expected a mapping/.test(error.message),
  );
});

test('parseListenAddress accepts host names, IPv4 and bracketed IPv6 only', () => {
  assert.deepEqual(parseListenAddress('localhost:1'), { host: 'localhost', port: 1 });
  assert.deepEqual(parseListenAddress('[::]:443'), { host: '::', port: 443 });
  for (const text of ['::1:80', 'host', ':80', 'a:b', 'a:123456', 'a b:1']) {
    assert.equal(parseListenAddress(text), undefined, text);
  }
});
