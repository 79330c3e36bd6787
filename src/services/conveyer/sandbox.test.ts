import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { probeSandbox, runStep, type SandboxProbe, type StepSpec, stepSucceeded } from './sandbox.ts';

const probe = await probeSandbox();
// On CI bubblewrap is installed by .ci/run, so a missing sandbox there is a failure, never a skip.
const skip =
  probe.isolation !== 'bwrap' && !process.env.CI
    ? `no bwrap isolation here (${probe.notes.join('; ')})`
    : false;
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

function folders(t: { after: (fn: () => void) => void }): Omit<StepSpec, 'argv' | 'timeoutMs'> {
  const dir = mkdtempSync(join(tmpdir(), 'vouch-sandbox-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const sub of ['src', 'out', 'inputs', 'home']) mkdirSync(join(dir, sub));
  writeFileSync(join(dir, 'src', 'hello.txt'), 'hello\n');
  return {
    sourceDir: join(dir, 'src'),
    outDir: join(dir, 'out'),
    inputsDir: join(dir, 'inputs'),
    homeDir: join(dir, 'home'),
    tools: [],
    sourceDateEpoch: 1_700_000_000,
  };
}

function sh(script: string, timeoutMs = 10_000) {
  return { argv: ['/bin/sh', '-c', script], timeoutMs };
}

test('the probe finds bwrap on this machine', { skip }, () => {
  assert.equal(probe.isolation, 'bwrap');
  assert.equal(probe.hermetic, true);
});

test('network access fails inside, and works outside', { skip }, async (t) => {
  const server = createServer((socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  const connect = {
    argv: ['/usr/bin/bash', '-c', `echo hi > /dev/tcp/127.0.0.1/${address.port}`],
    timeoutMs: 10_000,
  };
  const base = folders(t);
  const none: SandboxProbe = { isolation: 'none', hermetic: false, notes: [] };
  assert.ok(
    stepSucceeded(await runStep(none, { ...base, ...connect })),
    'control: loopback works unsandboxed',
  );
  const inside = await runStep(probe, { ...base, ...connect });
  assert.notEqual(inside.exitCode, 0);
  const unshare = await probeSandbox('unshare');
  if (unshare.isolation === 'unshare') {
    assert.notEqual(
      (await runStep(unshare, { ...base, ...connect })).exitCode,
      0,
      'unshare -rn has no network',
    );
  }
});

test('a tool that lives under /tmp on the host is visible inside, despite the fresh /tmp', {
  skip,
}, async (t) => {
  const base = folders(t);
  const toolDir = mkdtempSync(join(tmpdir(), 'vouch-tool-'));
  t.after(() => rmSync(toolDir, { recursive: true, force: true }));
  const tool = join(toolDir, 'tool.txt');
  writeFileSync(tool, 'a tool\n');
  const result = await runStep(probe, { ...base, tools: [tool], ...sh(`cat '${tool}' && ls /tmp | wc -l`) });
  assert.ok(stepSucceeded(result), text(result.stderr));
  // The tool is there, and /tmp holds only the path down to it, nothing else of the host's /tmp.
  assert.equal(text(result.stdout), 'a tool\n1\n');
});

test('writes outside the output folder fail', { skip }, async (t) => {
  const base = folders(t);
  const rows: readonly [string, string][] = [
    ['the source', '/build/src/x'],
    ['the inputs', '/build/inputs/x'],
    ['the root', '/x'],
    ['/usr', '/usr/x'],
    ['/etc', '/etc/x'],
    ['the host path of the output folder', join(base.outDir, 'x')],
  ];
  for (const [name, path] of rows) {
    await t.test(name, async () => {
      const result = await runStep(probe, { ...base, ...sh(`echo x > '${path}'`) });
      assert.notEqual(result.exitCode, 0, text(result.stderr));
    });
  }
  await t.test('the output folder itself is writable, with umask 022', async () => {
    const result = await runStep(probe, { ...base, ...sh('cat hello.txt > /build/out/copy && umask') });
    assert.ok(stepSucceeded(result), text(result.stderr));
    assert.equal(text(result.stdout), '0022\n');
    assert.equal(readFileSync(join(base.outDir, 'copy'), 'utf8'), 'hello\n');
  });
});

test('the environment is cleared and fixed', { skip }, async (t) => {
  process.env['VOUCH_TEST_LEAK'] = 'parent-secret';
  t.after(() => delete process.env['VOUCH_TEST_LEAK']);
  const result = await runStep(probe, { ...folders(t), ...sh('env | sort; pwd') });
  assert.ok(stepSucceeded(result), text(result.stderr));
  const out = text(result.stdout);
  assert.ok(!out.includes('parent-secret') && !out.includes('VOUCH_TEST_LEAK'), out);
  for (const line of [
    'TZ=UTC',
    'LC_ALL=C.UTF-8',
    'HOME=/build/home',
    'SOURCE_DATE_EPOCH=1700000000',
    'VOUCH_OUT=/build/out',
    '/build/src',
  ]) {
    assert.ok(out.split('\n').includes(line), `${line} in ${out}`);
  }
});

test('a hanging step is killed at its timeout', { skip }, async (t) => {
  const started = performance.now();
  const result = await runStep(probe, { ...folders(t), ...sh('sleep 30', 300) });
  assert.equal(result.timedOut, true);
  assert.ok(!stepSucceeded(result));
  assert.ok(performance.now() - started < 5000);
});

test('a step writing too much log is killed', { skip }, async (t) => {
  const result = await runStep(probe, { ...folders(t), ...sh('yes', 10_000), maxLogBytes: 64 * 1024 });
  assert.equal(result.logTooLarge, true);
  assert.ok(result.stdout.length <= 64 * 1024);
});

test('resource limits stop a step that writes a huge file, allocates too much or spins', {
  skip,
}, async (t) => {
  const base = folders(t);
  const limits = { cpuSeconds: 1, addressSpaceBytes: 64 * 1024 * 1024, fileSizeBytes: 1024 * 1024 };
  const rows = [
    { name: 'huge file', script: 'head -c 4000000 /dev/zero > "$VOUCH_OUT/big"' },
    { name: 'huge allocation', script: 'x=$(head -c 100000000 /dev/zero | tr "\\0" a); echo "$x" | wc -c' },
    { name: 'CPU spin', script: 'while :; do :; done' },
  ];
  for (const row of rows) {
    const unlimited = await runStep(probe, {
      ...base,
      ...sh(row.script, row.name === 'CPU spin' ? 600 : 10_000),
    });
    const limited = await runStep(probe, { ...base, ...sh(row.script, 10_000), limits });
    assert.equal(limited.timedOut, false, `${row.name}: stopped by its limit, not the timeout`);
    assert.notEqual(limited.exitCode, 0, `${row.name}: fails under limits`);
    if (row.name !== 'CPU spin')
      assert.ok(stepSucceeded(unlimited), `${row.name}: control succeeds without limits`);
    else assert.equal(unlimited.timedOut, true, 'control: the spin runs until its timeout');
  }
  const info = await runStep(probe, { ...base, ...sh('ulimit -t; ulimit -f'), limits });
  assert.equal(text(info.stdout), '1\n2048\n');
});
