/**
 * `vouch audit`: the supervisor's one command (docs/audit.md). It wires clients/auditor to the
 * command line: the configuration file, the state folder (what the last audit verified) and the
 * output folder (one TIME-report.dsse.json and .html per run, the latest also as report.*). It prints each broken promise on its own line,
 * named (`fork: release log — ...`), then a summary, and exits 0 when every promise held, 1 when
 * one was broken, 2 for a bad configuration (naming the file, the key and what was expected).
 */

import { runAudit } from '../../../clients/auditor/audit.ts';
import { violationLine } from '../../../core/audit/findings.ts';
import { parseCommandLine, required } from '../args.ts';
import { type CliIo, type Command, exitCodes } from '../io.ts';
import { loadSigner } from '../load-key.ts';

const synopsis = 'vouch audit --config FILE --state DIR --out DIR';

const usage = `Usage:
  ${synopsis}
      Audit since the last audit (kept in --state): every log (the release log, each site's
      access ledger) is consistent with what was seen before and cosigned by its witness quorum;
      every published root, targets and snapshot version is in the release log; every targets
      version is signed by the vendor and the approver; every new target's evidence passes the
      release policy (neutral-site build, k-of-n matching rebuilds, review, logged); every new
      ledger entry obeys the Cedar policy. Writes TIME-report.dsse.json (an in-toto statement
      signed by the auditor key, in DSSE) and TIME-report.html to --out, and copies them to
      report.dsse.json and report.html (the latest). Prints each violation; exit 0 when
      every promise held, 1 when one was broken, 2 for a bad configuration. The auditor key's
      passphrase, if any, comes from VOUCH_PASSPHRASE or the terminal. See docs/audit.md.
`;

async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandLine('audit', synopsis, args, {
    config: { type: 'string' },
    state: { type: 'string' },
    out: { type: 'string' },
  });
  const outcome = await runAudit({
    configFile: required('audit', synopsis, values.config, '--config'),
    stateDir: required('audit', synopsis, values.state, '--state'),
    outDir: required('audit', synopsis, values.out, '--out'),
    loadSigner: (path) => loadSigner(path, io),
  });
  for (const f of outcome.findings) io.stdout(`${violationLine(f)}\n`);
  const logs = outcome.report.logs.map((l) => `${l.name} at size ${l.size}`).join(', ');
  io.stdout(
    outcome.passed
      ? `audit passed: every promise held (${logs}); report: ${outcome.reportFile}, ${outcome.htmlFile}\n`
      : `audit FAILED: ${outcome.findings.length} violation(s); report: ${outcome.reportFile}, ${outcome.htmlFile}\n`,
  );
  return outcome.passed ? exitCodes.ok : exitCodes.verificationFailed;
}

/** auditCommand is `vouch audit`. */
export const auditCommand: Command = {
  name: 'audit',
  summary:
    "the supervisor's audit: logs, releases and access ledgers since the last audit, as a signed report",
  usage,
  run,
};
