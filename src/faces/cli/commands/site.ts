/**
 * `vouch site`: set up and run a data site's gateway (docs/sites.md "Running a site"). `init`
 * writes a site folder (configuration, a fresh key-encryption key, a signed site registry),
 * `add-tenant` registers a customer whose contract country maps to this site, `add-endpoint`
 * issues an endpoint credential and prints its token once, and `serve` runs the ingestion
 * gateway over HTTP. It only wires: the work is services/site/.
 */

import { join } from 'node:path';
import { formatEnvelope } from '../../../core/attest/index.ts';
import {
  createSigner,
  generateKey,
  type KeyType,
  type Signer,
  sealKeyFile,
} from '../../../core/crypto/index.ts';
import { VouchError } from '../../../core/errors.ts';
import { formatVerifierKey, signatureTypes } from '../../../core/note/index.ts';
import { defaultSiteRegistry, signRegistry } from '../../../core/sites/index.ts';
import { Gateway } from '../../../services/site/ingest.ts';
import { initSite, openSite } from '../../../services/site/site.ts';
import { mkdirDurable } from '../../../storage/fs/durable.ts';
import { writeKeyFile } from '../../../storage/fs/key-file.ts';
import { defaultMaxBusyMs, serve } from '../../http/http.ts';
import { createSiteHandler } from '../../http/site.ts';
import { parseCommandLine, parseListen, quote, repeated, required } from '../args.ts';
import {
  type CliIo,
  type Command,
  exitCodes,
  jsonLogger,
  readInput,
  runSubcommand,
  type Subcommand,
  untilStopped,
} from '../io.ts';
import { loadSigner, passphraseFromEnv } from '../load-key.ts';
import { siteDataSubcommands, siteDataUsage } from './site-data.ts';

const initSynopsis =
  'vouch site init DIR --site ID [--database URL] [--registry-key FILE | --registry FILE --registry-vkey VKEY ...] [--neutral-url URL] [--home-url URL] [--listen HOST:PORT] [--policies DIR]';
const addTenantSynopsis =
  'vouch site add-tenant DIR --tenant ID --country CC [--name NAME] [--approval-vkey VKEY [--approval-required]] [--elsewhere]';
const addEndpointSynopsis = 'vouch site add-endpoint DIR --tenant ID [--endpoint ID]';
const serveSynopsis = 'vouch site serve DIR [--port PORT | --listen HOST:PORT]';

const usage = `Usage:
  ${initSynopsis}
  ${addTenantSynopsis}
  ${addEndpointSynopsis}
  ${serveSynopsis}

init creates the site folder DIR: site.json, a fresh 32-byte key-encryption key in kek.key
(mode 0600), empty tenants.json and endpoints.json, and registry.json, the signed site registry.
By default that is the default registry (neutral countries at ch-zrh, others at ru-mow) signed
with --registry-key FILE, or with a new key written to DIR/registry.key (encrypted with
VOUCH_PASSPHRASE when set); --neutral-url and --home-url set the two sites' addresses. With
--registry FILE and --registry-vkey the folder uses an existing signed registry instead (every
site of a deployment must use the same one). Data goes to DIR/site.db, or with --database to
that PostgreSQL database (one per site). It prints the registry's verifier key.

add-tenant registers a customer by contract country (ISO 3166-1 alpha-2): its site comes from the
registry, and a tenant of another site is refused, naming that site. --elsewhere records another
site's tenant in the directory only, so this gateway can redirect its agents there (421).

add-endpoint issues a credential for one endpoint of a tenant and prints the token, once; only
its SHA-256 is stored. Agents send it as "Authorization: Bearer TOKEN".

serve runs the gateway: POST /v1/telemetry, POST /v1/agent-reports, GET /healthz.
`;

const registryKeyName = 'site-registry.vouch.example';

async function init(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine(
    'site init',
    initSynopsis,
    args,
    {
      site: { type: 'string' },
      database: { type: 'string' },
      'registry-key': { type: 'string' },
      registry: { type: 'string' },
      'registry-vkey': { type: 'string', multiple: true },
      'neutral-url': { type: 'string' },
      'home-url': { type: 'string' },
      listen: { type: 'string' },
      policies: { type: 'string' },
    },
    true,
  );
  if (values.help === true) return help(io);
  const dir = folder('site init', initSynopsis, positionals);
  const site = required('site init', initSynopsis, values.site, '--site');
  if (typeof values.listen === 'string') parseListen(values.listen);
  await mkdirDurable(dir, 0o700);
  let registry: Uint8Array;
  let registryKeys: string[];
  if (typeof values.registry === 'string') {
    if (typeof values['registry-key'] === 'string') {
      throw new VouchError(
        'invalid-argument',
        `site init: give --registry or --registry-key, not both (usage: ${initSynopsis})`,
      );
    }
    registry = await readInput(values.registry, io, 256 * 1024);
    registryKeys = repeated('site init', initSynopsis, values['registry-vkey'], '--registry-vkey');
  } else {
    const signer =
      typeof values['registry-key'] === 'string'
        ? await loadSigner(values['registry-key'], io)
        : await newRegistryKey(join(dir, 'registry.key'), io);
    registryKeys = [vkeyOf(signer)];
    const table = defaultSiteRegistry({
      ...(typeof values['neutral-url'] === 'string' ? { neutralUrl: values['neutral-url'] } : {}),
      ...(typeof values['home-url'] === 'string' ? { homeUrl: values['home-url'] } : {}),
    });
    registry = formatEnvelope(await signRegistry(table, [signer]));
  }
  await initSite(dir, {
    site,
    registry,
    registryKeys,
    ...(typeof values.database === 'string' ? { database: values.database } : {}),
    ...(typeof values.listen === 'string' ? { listen: values.listen } : {}),
    ...(typeof values.policies === 'string' ? { policies: values.policies } : {}),
  });
  io.stdout(`${registryKeys.join('\n')}\n`);
  return exitCodes.ok;
}

async function newRegistryKey(path: string, io: CliIo): Promise<Signer> {
  const material = generateKey('ed25519');
  const passphrase = passphraseFromEnv(io);
  await writeKeyFile(path, await sealKeyFile(material, registryKeyName, passphrase));
  if (passphrase === undefined) {
    io.stderr(
      `vouch: wrote the registry signing key to ${path} unencrypted (set VOUCH_PASSPHRASE to encrypt it)\n`,
    );
  }
  return createSigner(registryKeyName, material);
}

function vkeyOf(signer: Signer): string {
  const types: Partial<Record<KeyType, number>> = {
    ed25519: signatureTypes.ed25519,
    'ecdsa-p256': signatureTypes.ecdsa,
  };
  const type = types[signer.keyType];
  if (type === undefined)
    throw new VouchError('bad-key', 'a site registry is signed with an Ed25519 or ECDSA P-256 key');
  return formatVerifierKey({ name: signer.name, type, publicKey: signer.publicKey });
}

async function addTenant(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine(
    'site add-tenant',
    addTenantSynopsis,
    args,
    {
      tenant: { type: 'string' },
      country: { type: 'string' },
      name: { type: 'string' },
      'approval-vkey': { type: 'string' },
      'approval-required': { type: 'boolean' },
      elsewhere: { type: 'boolean' },
    },
    true,
  );
  if (values.help === true) return help(io);
  const dir = folder('site add-tenant', addTenantSynopsis, positionals);
  const id = required('site add-tenant', addTenantSynopsis, values.tenant, '--tenant');
  const country = required('site add-tenant', addTenantSynopsis, values.country, '--country');
  const approvalKey = typeof values['approval-vkey'] === 'string' ? values['approval-vkey'] : undefined;
  if (values['approval-required'] === true && approvalKey === undefined) {
    throw new VouchError('invalid-argument', 'site add-tenant: --approval-required needs --approval-vkey');
  }
  const site = await openSite(dir);
  try {
    const { record, stored } = await site.addTenant(
      {
        id,
        contractCountry: country,
        ...(typeof values.name === 'string' ? { name: values.name } : {}),
        ...(approvalKey === undefined ? {} : { approvalKey }),
        approvalRequired: values['approval-required'] === true,
      },
      { elsewhere: values.elsewhere === true },
    );
    const where =
      record.site === site.id
        ? stored
          ? 'registered'
          : 'already registered'
        : `recorded (its data lives at ${record.site})`;
    io.stdout(`tenant ${record.id} (${record.contractCountry}) ${where} at ${site.id}\n`);
  } finally {
    await site.close();
  }
  return exitCodes.ok;
}

async function addEndpoint(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine(
    'site add-endpoint',
    addEndpointSynopsis,
    args,
    { tenant: { type: 'string' }, endpoint: { type: 'string' } },
    true,
  );
  if (values.help === true) return help(io);
  const dir = folder('site add-endpoint', addEndpointSynopsis, positionals);
  const tenant = required('site add-endpoint', addEndpointSynopsis, values.tenant, '--tenant');
  const endpoint =
    typeof values.endpoint === 'string' ? values.endpoint : `${tenant}-${Date.now().toString(36)}`;
  const site = await openSite(dir);
  try {
    const token = await site.addEndpoint(tenant, endpoint);
    io.stderr(`endpoint ${endpoint} of tenant ${tenant}: the token below is shown once\n`);
    io.stdout(`${token}\n`);
  } finally {
    await site.close();
  }
  return exitCodes.ok;
}

async function serveSite(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine(
    'site serve',
    serveSynopsis,
    args,
    { port: { type: 'string' }, listen: { type: 'string' } },
    true,
  );
  if (values.help === true) return help(io);
  const dir = folder('site serve', serveSynopsis, positionals);
  const site = await openSite(dir);
  const logLine = jsonLogger(io);
  let server: Awaited<ReturnType<typeof serve>>;
  try {
    const listen = parseListen(typeof values.listen === 'string' ? values.listen : site.config.listen);
    const host = listen.host;
    let port = listen.port;
    if (typeof values.port === 'string') {
      if (!/^\d{1,5}$/.test(values.port) || Number(values.port) > 65535) {
        throw new VouchError(
          'invalid-argument',
          `site serve: --port must be 0 to 65535, not ${quote(values.port)}`,
        );
      }
      port = Number(values.port);
    }
    const gateway = new Gateway(site);
    server = await serve(createSiteHandler({ gateway, log: logLine }), {
      host,
      port,
      log: logLine,
      maxBusyMs: defaultMaxBusyMs,
    });
  } catch (error) {
    await site.close();
    throw error;
  }
  logLine(`serving site ${site.id} at ${server.url}/`);
  await untilStopped();
  logLine('shutting down');
  await server.close();
  await site.close();
  return exitCodes.ok;
}

function folder(command: string, synopsis: string, positionals: readonly string[]): string {
  const [dir, ...extra] = positionals;
  if (dir === undefined || extra.length > 0) {
    throw new VouchError('invalid-argument', `${command}: expected one site folder (usage: ${synopsis})`);
  }
  return dir;
}

function help(io: CliIo): number {
  io.stdout(usage);
  return exitCodes.ok;
}

/**
 * siteSubcommands are this file's subcommands of `vouch site`; other files add theirs (export,
 * erase, my-access) by spreading this table into their own and extending {@link siteUsage}.
 */
export const siteSubcommands: Readonly<Record<string, Subcommand>> = Object.freeze({
  init,
  'add-tenant': addTenant,
  'add-endpoint': addEndpoint,
  serve: serveSite,
});

/** siteUsage is the help text of {@link siteSubcommands}. */
export const siteUsage = usage;

const fullUsage = `${usage}${siteDataUsage}`;

/**
 * siteCommand is `vouch site`: this file's `init`, `add-tenant`, `add-endpoint` and `serve`, and
 * site-data.ts's ledgered `export`, `erase`, `my-access`, `verify-access` and `jobs`.
 */
export const siteCommand: Command = {
  name: 'site',
  summary:
    'run a data site: tenants, endpoint credentials, the ingestion gateway, ledgered exports, erasure and jobs',
  usage: fullUsage,
  run: (args, io) => runSubcommand(args, io, fullUsage, { ...siteSubcommands, ...siteDataSubcommands }),
};
