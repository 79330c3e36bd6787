/**
 * Test support for scanner cross-checks: which Debian tool is missing, the EICAR test string, and
 * seeded bytes, so a generated corpus is the same on every run.
 */

import { spawnSync } from 'node:child_process';

/**
 * requireTool returns a skip reason when `command --version` does not run, and throws on CI
 * (env CI set), where .ci/run installs every tool and a missing one is a failure.
 */
export function requireTool(command: string, debianPackage: string): string | undefined {
  const r = spawnSync(command, ['--version'], { encoding: 'utf8' });
  if (r.error === undefined && r.status === 0) return undefined;
  const reason = `\`${command}\` is not installed (apt-get install ${debianPackage})`;
  if (process.env.CI) throw new Error(`CI requires ${command}: ${reason}`);
  return reason;
}

/**
 * eicar is the EICAR test file (https://www.eicar.org/download-anti-malware-testfile/), 68 bytes,
 * built at run time so that no scanner flags the repository.
 */
export const eicar = `X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-${'TEST-FILE'}!$H+H*`;

/** seededBytes returns a seeded xorshift32 byte generator. */
export function seededBytes(seed: number): (n: number) => Uint8Array {
  let state = seed >>> 0 || 1;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      state ^= state << 13;
      state >>>= 0;
      state ^= state >>> 17;
      state ^= state << 5;
      state >>>= 0;
      out[i] = state & 0xff;
    }
    return out;
  };
}
