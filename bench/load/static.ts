/**
 * Load driver for the repository's static files (faces/http/static.ts): an update repository
 * created with `vouch key generate` and `vouch repo init`, with 64 files of 256 bytes to 16 KiB of
 * random bytes put in its `public/load/` folder, served by `vouch repo serve` on 127.0.0.1:0.
 * Every request GETs one of those files. Nothing is written, so nothing can be lost; instead
 * every 200 answer's body must be the file's exact bytes (a mismatch counts as lost).
 */

import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LoadPlan, measure, type ServiceReport } from './drive.ts';
import type { Shot } from './generator.ts';
import { startVouch, vouch } from './server.ts';

const files = 64;

function key(dir: string, name: string, file: string): string {
  return vouch(
    dir,
    'key',
    'generate',
    '--type',
    'ed25519',
    '--name',
    name,
    '--out',
    file,
    '--unencrypted',
  ).trim();
}

/** runStaticLoad drives `vouch repo serve`'s GETs; see the module comment. */
export async function runStaticLoad(plan: LoadPlan): Promise<ServiceReport> {
  const dir = await mkdtemp(join(tmpdir(), 'vouch-load-static-'));
  const notes: string[] = [];
  try {
    key(dir, 'root.load.example', 'root.key');
    const release = key(dir, 'release.load.example', 'release.key');
    const approver = key(dir, 'approver.load.example', 'approver.key');
    key(dir, 'snapshot.load.example', 'snapshot.key');
    key(dir, 'timestamp.load.example', 'timestamp.key');
    vouch(
      dir,
      'repo',
      'init',
      'repo',
      '--name',
      'load',
      '--root-key',
      'root.key',
      '--root-threshold',
      '1',
      '--release-vkey',
      release,
      '--approver-vkey',
      approver,
      '--snapshot-key',
      'snapshot.key',
      '--timestamp-key',
      'timestamp.key',
    );
    await mkdir(join(dir, 'repo', 'public', 'load'));
    const digests: string[] = [];
    let bytes = 0;
    for (let i = 0; i < files; i++) {
      const data = randomBytes(256 * (1 + i));
      bytes += data.length;
      digests.push(createHash('sha256').update(data).digest('hex'));
      await writeFile(join(dir, 'repo', 'public', 'load', `f${i}.bin`), data);
    }
    const server = await startVouch(dir, ['repo', 'serve', 'repo', '--listen', '127.0.0.1:0']);
    let served = 0;
    let mismatched = 0;
    let measured: Awaited<ReturnType<typeof measure>>;
    try {
      measured = await measure(
        {
          url: server.url,
          pid: server.pid,
          next: (i): Shot => ({ method: 'GET', path: `/load/f${(i * 37) % files}.bin` }),
          onAnswer: (shot, answer) => {
            if (answer.status !== 200) return;
            served++;
            const n = Number(/f(\d+)\.bin$/.exec(shot.path)?.[1]);
            if (createHash('sha256').update(answer.body).digest('hex') !== digests[n]) mismatched++;
          },
        },
        plan,
      );
      notes.push(
        `${files} files of 256 bytes to ${files / 4} KiB (${Math.round(bytes / 1024)} KiB in all, the size of TUF metadata and small targets; page cache warm); every 200 body checked against the file's SHA-256`,
      );
    } finally {
      const exit = await server.stop();
      if (exit !== '0') notes.push(`the server exited with ${exit}`);
    }
    return {
      service: 'repository',
      endpoint: 'GET /load/fN.bin (vouch repo serve)',
      measured,
      acknowledged: served,
      what: 'files served (200), bodies checked',
      lost: mismatched,
      memoryBoundKiB: 512 * 1024,
      notes,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
