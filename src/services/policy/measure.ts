/**
 * Measures the policy decision point single-threaded: decisions per second through
 * {@link PolicyEngine.decide} (policies and schema parsed once), beside the baseline of the same
 * requests through Cedar's stateless `isAuthorized`, which re-parses the policy text and schema
 * on every call (the ~0.4 ms per call of the research notes). Each figure is the median of
 * several runs. Run `node src/services/policy/measure.ts [decisions] [runs]`; bench/ may import
 * {@link measureDecisions} to put the figures in its results.
 */

import { performance } from 'node:perf_hooks';
import { isAuthorized } from '@cedar-policy/cedar-wasm/nodejs';
import { toText } from '../../core/bytes/index.ts';
import { PolicyEngine } from './decide.ts';
import { mapRequest, type PolicyRequest, type TenantInput } from './entities.ts';
import { readPolicyFiles } from './files.ts';

/** DecisionFigures are the measured rates, in decisions per second, each a median over `runs`. */
export interface DecisionFigures {
  readonly decisions: number;
  readonly runs: number;
  /** parsedOnce is the rate of PolicyEngine.decide (mapping, request validation, evaluation). */
  readonly parsedOnce: number;
  /** reparsed is the rate of isAuthorized given the policy text and schema each call. */
  readonly reparsed: number;
  /** allowed counts the allows in one run of `decisions`, to show the mix is not all denies. */
  readonly allowed: number;
}

const zrh = { id: 'ch-zrh', country: 'CH' };
const mow = { id: 'ru-mow', country: 'RU' };
const now = new Date('2026-03-01T12:00:00Z');
const japan: TenantInput = {
  id: 'jp-1',
  contractCountry: 'JP',
  residency: 'neutral',
  site: 'ch-zrh',
  approvalRequired: true,
};
const brazil: TenantInput = {
  id: 'br-1',
  contractCountry: 'BR',
  residency: 'home',
  site: 'ru-mow',
  approvalRequired: false,
};
const staff = {
  type: 'Staff',
  id: 'anna',
  employer: 'Vouch AG',
  officeCountry: 'CH',
  physicalCountry: 'CH',
  role: 'support',
  site: 'ch-zrh',
} as const;

/** sampleRequests is the mix measured: allows and denies by jobs, staff and endpoints. */
export const sampleRequests: readonly PolicyRequest[] = [
  {
    principal: { type: 'Job', id: 'stats', purpose: 'detection-statistics', site: 'ch-zrh' },
    action: 'read',
    resource: { type: 'TenantData', tenant: japan, kind: 'telemetry' },
    context: { site: zrh, now, purpose: 'detection-statistics' },
  },
  {
    principal: { type: 'Job', id: 'stats', purpose: 'detection-statistics', site: 'ru-mow' },
    action: 'read',
    resource: { type: 'TenantData', tenant: japan, kind: 'telemetry' },
    context: { site: mow, now, purpose: 'detection-statistics' },
  },
  {
    principal: staff,
    action: 'access',
    resource: { type: 'TenantData', tenant: japan, kind: 'samples' },
    context: {
      site: zrh,
      now,
      justification: 'false positive',
      ticket: 'SUP-1',
      approval: { valid: true, expiresAt: new Date('2026-03-01T20:00:00Z') },
    },
  },
  {
    principal: { ...staff, physicalCountry: 'RU' },
    action: 'access',
    resource: { type: 'Tenant', ...japan },
    context: { site: zrh, now, justification: 'false positive', ticket: 'SUP-1' },
  },
  {
    principal: { type: 'Endpoint', id: 'agent-1', tenant: 'br-1' },
    action: 'ingest',
    resource: { type: 'TenantData', tenant: brazil, kind: 'telemetry' },
    context: { site: mow, now },
  },
  {
    principal: { type: 'Endpoint', id: 'agent-1', tenant: 'br-1' },
    action: 'ingest',
    resource: { type: 'TenantData', tenant: brazil, kind: 'telemetry' },
    context: { site: zrh, now },
  },
];

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function rate(count: number, run: (i: number) => void): number {
  const start = performance.now();
  for (let i = 0; i < count; i++) run(i);
  return count / ((performance.now() - start) / 1000);
}

/** measureDecisions loads the default policy folder and measures both paths; reparsed runs a tenth of the decisions. */
export async function measureDecisions(decisions = 10_000, runs = 5): Promise<DecisionFigures> {
  const sources = await readPolicyFiles();
  const engine = PolicyEngine.load(sources);
  const policiesText = toText(sources.policiesText as Uint8Array);
  const schemaText = toText(sources.schemaText as Uint8Array);
  const n = sampleRequests.length;
  const pick = (i: number): PolicyRequest => sampleRequests[i % n] as PolicyRequest;

  let allowed = 0;
  for (let i = 0; i < decisions; i++) if (engine.decide(pick(i)).decision === 'allow') allowed++;

  const parsedOnce: number[] = [];
  for (let r = 0; r < runs; r++) parsedOnce.push(rate(decisions, (i) => engine.decide(pick(i))));

  const mapped = sampleRequests.map((request) => {
    const m = mapRequest(request);
    if (!m.ok) throw new Error(`sample request does not map: ${m.errors.join('; ')}`);
    return m.request;
  });
  const reparsed: number[] = [];
  for (let r = 0; r < runs; r++) {
    reparsed.push(
      rate(Math.max(1, Math.floor(decisions / 10)), (i) => {
        const call = mapped[i % n];
        if (call === undefined) return;
        isAuthorized({
          principal: call.principal,
          action: call.action,
          resource: call.resource,
          context: call.context,
          entities: call.entities.map((e) => ({ uid: e.uid, attrs: e.attrs, parents: [] })),
          policies: { staticPolicies: policiesText },
          schema: schemaText,
          validateRequest: true,
        });
      }),
    );
  }
  return { decisions, runs, parsedOnce: median(parsedOnce), reparsed: median(reparsed), allowed };
}

if (import.meta.main) {
  const decisions = Number(process.argv[2] ?? 10_000);
  const runs = Number(process.argv[3] ?? 5);
  const figures = await measureDecisions(decisions, runs);
  console.log(JSON.stringify(figures));
  console.log(
    `policy decisions/s (median of ${runs} x ${decisions}): parsed once ${figures.parsedOnce.toFixed(0)}, ` +
      `re-parsed per call ${figures.reparsed.toFixed(0)} (x${(figures.parsedOnce / figures.reparsed).toFixed(1)})`,
  );
}
