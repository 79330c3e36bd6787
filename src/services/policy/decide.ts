/**
 * The policy decision point: Cedar (`@cedar-policy/cedar-wasm`, in process) decides every ingest,
 * read, processing job, export, erasure and staff access (issue 8; data-residency notes §4, §8.3).
 *
 * {@link PolicyEngine.load} takes the policy text and the schema, refuses a policy set that does
 * not parse, has templates, lacks a unique `@id` on any policy, or draws any validation error or
 * warning in strict mode against the schema (with Cedar's message), and computes the policy
 * digest: the SHA-256 of the exact policy text bytes, in hex, recorded with every decision. The
 * policy set and schema are parsed once into Cedar's per-thread cache (`preparsePolicySet`,
 * `preparseSchema`) under content-derived names, and each decision is evaluated against them
 * (`statefulIsAuthorized`), so nothing is re-parsed per call.
 *
 * Decisions fail closed: a request that does not map or does not match the schema (an unknown
 * action, a malformed entity), any policy evaluation error (Cedar skips an erroring policy, which
 * for a `forbid` would allow), and any failure of Cedar itself are all a deny with the errors
 * listed. Reasons are the `@id`s of the policies that decided: the satisfied permits of an allow,
 * the satisfied forbids of a deny (empty when nothing permitted: deny by default), sorted.
 *
 * LIMIT: Cedar's cache lives as long as the WebAssembly instance (the process, or the worker
 * thread); every distinct policy set loaded adds one entry that is never freed. Loading the same
 * text again reuses its entry.
 */

import {
  type AuthorizationAnswer,
  type DetailedError,
  policySetTextToParts,
  policyToJson,
  preparsePolicySet,
  preparseSchema,
  statefulIsAuthorized,
  validate,
} from '@cedar-policy/cedar-wasm/nodejs';
import { formatHex, toBytes, toText } from '../../core/bytes/index.ts';
import { sha256 } from '../../core/crypto/index.ts';
import { VouchError } from '../../core/errors.ts';
import { mapRequest, type PolicyRequest } from './entities.ts';

/** maxPolicyBytes bounds the policy text and the schema text, each. */
export const maxPolicyBytes = 1024 * 1024;
/** maxPolicies bounds the number of policies in a set. */
export const maxPolicies = 1000;

const policyIdPattern = /^[a-z0-9][a-z0-9-]{0,99}$/;

/** PolicySources are the texts a policy engine is loaded from; bytes are digested exactly as given. */
export interface PolicySources {
  /** policiesText is the Cedar policy set; every policy carries a unique `@id("...")`. */
  readonly policiesText: string | Uint8Array;
  /** schemaText is the Cedar schema in the human-readable format (or its JSON form as text). */
  readonly schemaText: string | Uint8Array;
}

/** PolicyDecision is the outcome of one request; safe to record in the access ledger. */
export interface PolicyDecision {
  readonly decision: 'allow' | 'deny';
  /** reasons are the `@id`s of the policies that decided (see the module comment). */
  readonly reasons: readonly string[];
  /** errors explain a deny caused by bad input or evaluation errors; empty otherwise. */
  readonly errors: readonly string[];
  /** policyDigest is the hex SHA-256 of the policy text the decision was made under. */
  readonly policyDigest: string;
}

function cedarMessage(errors: readonly DetailedError[]): string {
  return errors.map((e) => e.message).join('; ') || 'no message';
}

function textOf(value: string | Uint8Array, what: string): { text: string; bytes: Uint8Array } {
  const bytes = typeof value === 'string' ? toBytes(value) : value;
  if (bytes.length > maxPolicyBytes) {
    throw new VouchError('too-large', `${what} is larger than ${maxPolicyBytes} bytes`, {
      limit: maxPolicyBytes,
      size: BigInt(bytes.length),
    });
  }
  return { text: typeof value === 'string' ? value : toText(bytes, what), bytes };
}

/** splitPolicies cuts the text into policies keyed by their `@id`, refusing templates and missing or repeated ids. */
function splitPolicies(text: string): Record<string, string> {
  const parts = policySetTextToParts(text);
  if (parts.type === 'failure') {
    throw new VouchError('malformed', `policy set does not parse: ${cedarMessage(parts.errors)}`);
  }
  if (parts.policy_templates.length > 0) {
    throw new VouchError('invalid-argument', 'policy set has templates; Vouch loads static policies only');
  }
  if (parts.policies.length === 0) {
    throw new VouchError('invalid-argument', 'policy set is empty');
  }
  if (parts.policies.length > maxPolicies) {
    throw new VouchError('too-large', `policy set has more than ${maxPolicies} policies`, {
      limit: maxPolicies,
    });
  }
  const byId: Record<string, string> = Object.create(null);
  parts.policies.forEach((policy, index) => {
    const json = policyToJson(policy);
    if (json.type === 'failure') {
      throw new VouchError('malformed', `policy ${index} does not parse: ${cedarMessage(json.errors)}`);
    }
    const id = json.json.annotations?.['id'];
    if (id === undefined || !policyIdPattern.test(id)) {
      throw new VouchError(
        'invalid-argument',
        `policy ${index} has no @id("...") of lower-case letters, digits and dashes`,
        {
          field: `policy ${index}`,
        },
      );
    }
    if (id in byId) {
      throw new VouchError('invalid-argument', `policy id ${id} is used twice`, { field: id });
    }
    byId[id] = policy;
  });
  return byId;
}

/** PolicyEngine decides requests under one validated, digested policy set; see the module comment. */
export class PolicyEngine {
  /** policyDigest is the hex SHA-256 of the exact policy text bytes. */
  readonly policyDigest: string;
  /** schemaDigest is the hex SHA-256 of the exact schema text bytes. */
  readonly schemaDigest: string;
  /** policyIds are the `@id`s of the loaded policies, sorted. */
  readonly policyIds: readonly string[];
  readonly #policySetName: string;
  readonly #schemaName: string;

  private constructor(policyDigest: string, schemaDigest: string, policyIds: readonly string[]) {
    this.policyDigest = policyDigest;
    this.schemaDigest = schemaDigest;
    this.policyIds = Object.freeze([...policyIds]);
    this.#policySetName = `vouch-policy-${policyDigest}`;
    this.#schemaName = `vouch-schema-${schemaDigest}`;
  }

  /**
   * load validates the policy set against the schema and parses both once; it throws a
   * VouchError (`malformed`, `invalid-argument` or `too-large`) carrying Cedar's message when the
   * policies or the schema are refused. It is synchronous: Cedar runs in process.
   */
  static load(sources: PolicySources): PolicyEngine {
    const policies = textOf(sources.policiesText, 'policy text');
    const schema = textOf(sources.schemaText, 'policy schema');
    const byId = splitPolicies(policies.text);
    const answer = validate({
      schema: schema.text,
      policies: { staticPolicies: byId },
      validationSettings: { mode: 'strict' },
    });
    if (answer.type === 'failure') {
      throw new VouchError('malformed', `policy schema or set is refused: ${cedarMessage(answer.errors)}`);
    }
    const problems = [...answer.validationErrors, ...answer.validationWarnings];
    const first = problems[0];
    if (first !== undefined) {
      throw new VouchError(
        'invalid-argument',
        `policy ${first.policyId} does not validate against the schema: ${first.error.message}`,
        { field: first.policyId, fields: problems.map((v) => v.policyId) },
      );
    }
    if (answer.otherWarnings.length > 0) {
      throw new VouchError(
        'invalid-argument',
        `policy schema draws warnings: ${cedarMessage(answer.otherWarnings)}`,
      );
    }

    const engine = new PolicyEngine(
      formatHex(sha256(policies.bytes)),
      formatHex(sha256(schema.bytes)),
      Object.keys(byId).sort(),
    );
    const parsedSchema = preparseSchema(engine.#schemaName, schema.text);
    const parsedPolicies = preparsePolicySet(engine.#policySetName, { staticPolicies: byId });
    if (parsedSchema.type === 'failure' || parsedPolicies.type === 'failure') {
      throw new VouchError('invariant', 'Cedar refused to cache a policy set it had validated');
    }
    return engine;
  }

  /** decide answers one request; it never throws for bad input, it denies and lists the errors. */
  decide(request: PolicyRequest): PolicyDecision {
    const mapped = mapRequest(request);
    if (!mapped.ok) return this.#deny([], mapped.errors);
    const call = mapped.request;
    let answer: AuthorizationAnswer;
    try {
      answer = statefulIsAuthorized({
        principal: call.principal,
        action: call.action,
        resource: call.resource,
        context: call.context,
        entities: call.entities.map((e) => ({ uid: e.uid, attrs: e.attrs, parents: [...e.parents] })),
        preparsedPolicySetId: this.#policySetName,
        preparsedSchemaName: this.#schemaName,
        validateRequest: true,
      });
    } catch (error) {
      return this.#deny(
        [],
        [`policy evaluation failed: ${error instanceof Error ? error.message : 'unknown error'}`],
      );
    }
    if (answer.type === 'failure')
      return this.#deny(
        [],
        answer.errors.map((e) => e.message),
      );
    const { decision, diagnostics } = answer.response;
    const errors = diagnostics.errors.map((e) => `${e.policyId}: ${e.error.message}`);
    // A deny keeps the forbids that held; an allow overturned by errors names no permit.
    if (errors.length > 0) return this.#deny(decision === 'deny' ? diagnostics.reason : [], errors);
    return Object.freeze({
      decision: decision === 'allow' ? 'allow' : 'deny',
      reasons: Object.freeze([...diagnostics.reason].sort()),
      errors: Object.freeze([]),
      policyDigest: this.policyDigest,
    });
  }

  #deny(reasons: readonly string[], errors: readonly string[]): PolicyDecision {
    return Object.freeze({
      decision: 'deny',
      reasons: Object.freeze([...reasons].sort()),
      errors: Object.freeze([...errors]),
      policyDigest: this.policyDigest,
    });
  }
}
