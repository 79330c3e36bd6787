/**
 * Test support for the dashboard: an audit world (./audit-world.ts), audited once so a signed
 * report exists, and the dashboard handler serving it over HTTP on loopback, exactly as
 * `vouch serve` mounts it under /dashboard/.
 */

import { join } from 'node:path';
import { formatVerifierKey, signatureTypes } from '../../src/core/note/keys.ts';
import { auditCommand } from '../../src/faces/cli/commands/audit.ts';
import { createDashboardHandler } from '../../src/faces/http/dashboard.ts';
import { type RunningServer, serve } from '../../src/faces/http/http.ts';
import { readKeyFile } from '../../src/storage/fs/key-file.ts';
import { type AuditWorld, startAuditWorld } from './audit-world.ts';
import { runCommand } from './cli.ts';

/** DashboardWorld is an audited world and the dashboard serving it. */
export interface DashboardWorld {
  readonly world: AuditWorld;
  /** url is the dashboard's URL, ending in /dashboard/. */
  readonly url: string;
  readonly auditorVkey: string;
  /** audit runs `vouch audit` on the world again and returns its exit code. */
  audit(): Promise<number>;
  close(): Promise<void>;
}

/** startDashboardWorld builds, audits and serves a world; see the module comment. */
export async function startDashboardWorld(): Promise<DashboardWorld> {
  const world = await startAuditWorld();
  let server: RunningServer | undefined;
  try {
    const audit = async () =>
      (await runCommand(auditCommand, ['--config', world.config, '--state', world.state, '--out', world.out]))
        .code;
    const code = await audit();
    if (code !== 0) throw new Error(`the clean world's audit exited ${code}`);
    const { material, name } = await readKeyFile(join(world.dir, 'auditor.key'), undefined);
    const auditorVkey = formatVerifierKey({
      name,
      type: signatureTypes.ed25519,
      publicKey: material.publicKey,
    });
    const dashboard = await createDashboardHandler({
      prefix: '/dashboard/',
      auditConfig: world.config,
      reports: world.out,
      auditorVkey,
    });
    server = await serve(dashboard.handler, { host: '127.0.0.1', port: 0, log: () => undefined });
    const running = server;
    return {
      world,
      url: `${running.url}/dashboard/`,
      auditorVkey,
      audit,
      close: async () => {
        await running.close();
        await world.close();
      },
    };
  } catch (error) {
    await server?.close();
    await world.close();
    throw error;
  }
}
