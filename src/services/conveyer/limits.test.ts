import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeLimitExit, limitCommand, limitSettings, stepLimits } from './limits.ts';

const limits = stepLimits(60, { addressSpaceBytes: 64 * 1024 * 1024, fileSizeBytes: 1_000_000 }, 1);

test('stepLimits takes the recipe values and defaults CPU time to the timeout on every core', () => {
  assert.equal(limits.cpuSeconds, 60);
  assert.equal(limits.addressSpaceBytes, 64 * 1024 * 1024);
  assert.equal(limits.fileSizeBytes, 1_000_000);
  assert.equal(limits.processes, undefined);
  assert.equal(stepLimits(5, undefined, 4).cpuSeconds, 20);
  assert.equal(stepLimits(5, { cpuSeconds: 3 }, 4).cpuSeconds, 3);
  assert.equal(stepLimits(5, { processes: 32 }).processes, 32);
});

test('limitCommand puts prlimit, or a ulimit shell, in front of the step', () => {
  assert.deepEqual(limitCommand({ ...limits, processes: 8 }, ['/bin/true', 'x'], '/usr/bin/prlimit'), [
    '/usr/bin/prlimit',
    '--cpu=60:61',
    '--as=67108864',
    '--fsize=1000000',
    '--nproc=8',
    '--',
    '/bin/true',
    'x',
  ]);
  assert.deepEqual(limitCommand(limits, ['/bin/true'], undefined), [
    '/bin/sh',
    '-c',
    'ulimit -t 60 && ulimit -v 65536 && ulimit -f 1953 && exec "$@"',
    'vouch-limits',
    '/bin/true',
  ]);
  assert.equal(limitSettings(limits, 'prlimit').enforcedBy, 'prlimit');
});

test('describeLimitExit names the limit a step ran into', () => {
  const rows = [
    { name: 'SIGXCPU signal', exitCode: null, signal: 'SIGXCPU', expect: /CPU time limit of 60 s/ },
    {
      name: 'SIGXFSZ via a shell status',
      exitCode: 128 + 25,
      signal: null,
      expect: /file size limit of 1000000 bytes/,
    },
    {
      name: 'crash names the address space',
      exitCode: 139,
      signal: null,
      expect: /killed by SIGSEGV.*67108864 bytes of address space/,
    },
    { name: 'plain failure', exitCode: 2, signal: null, expect: /^exited 2 \(limits/ },
  ];
  for (const row of rows)
    assert.match(describeLimitExit(row.exitCode, row.signal, limits), row.expect, row.name);
});
