/**
 * Test support: Debian's python3-securesystemslib as an independent verifier of TUF metadata.
 * `securesystemslibMissing` is a skip reason when `/usr/bin/python3` cannot import it (the pyenv
 * python3 first on PATH does not see Debian's packages), and throws on CI, where .ci/run installs
 * it. `verifyWithSecuresystemslib` checks a published folder: every key ID recomputed, each root
 * signed by its own threshold and by its predecessor's, every targets and snapshot version and the
 * timestamp by the keys of the root in force when it was published.
 */

import { spawnSync } from 'node:child_process';

const python = '/usr/bin/python3';

/** securesystemslibMissing returns why the verifier cannot run here, or undefined; it throws on CI. */
export function securesystemslibMissing(): string | undefined {
  const r = spawnSync(python, ['-c', 'import securesystemslib.signer'], { encoding: 'utf8' });
  if (r.error === undefined && r.status === 0) return undefined;
  const reason =
    '`/usr/bin/python3` cannot import securesystemslib (apt-get install python3-securesystemslib)';
  if (process.env['CI']) throw new Error(`CI requires securesystemslib: ${reason}`);
  return reason;
}

const script = `
import glob, hashlib, json, os, re, sys
from securesystemslib.formats import encode_canonical
from securesystemslib.signer import SSlibKey, Signature
d = sys.argv[1]
load = lambda n: json.load(open(os.path.join(d, n), encoding='utf-8'))
def count(md, keys, role):
    data = encode_canonical(md['signed']).encode('utf-8')
    good = set()
    for s in md['signatures']:
        if s['keyid'] in role['keyids']:
            SSlibKey.from_dict(s['keyid'], dict(keys[s['keyid']])).verify_signature(Signature(s['keyid'], s['sig']), data)
            good.add(s['keyid'])
    assert len(good) >= role['threshold'], (md['signed']['_type'], md['signed']['version'], len(good))
    return len(good)
roots, total, n = [], 0, 1
while n < 1000 and os.path.exists(os.path.join(d, '%d.root.json' % n)):
    r = load('%d.root.json' % n)
    assert r['signed']['version'] == n
    for kid, k in r['signed']['keys'].items():
        core = {'keytype': k['keytype'], 'scheme': k['scheme'], 'keyval': k['keyval']}
        assert hashlib.sha256(encode_canonical(core).encode('utf-8')).hexdigest() == kid, kid
    total += count(r, r['signed']['keys'], r['signed']['roles']['root'])
    if roots:
        total += count(r, roots[-1]['signed']['keys'], roots[-1]['signed']['roles']['root'])
    roots.append(r)
    n += 1
def in_force(role, md):
    for r in reversed(roots):
        rk = r['signed']['roles'][role]
        if any(s['keyid'] in rk['keyids'] for s in md['signatures']):
            return r['signed']['keys'], rk
    raise AssertionError('no root lists the keys of %s %s' % (role, md['signed']['version']))
files = sorted(f for f in os.listdir(d) if re.match(r'^[0-9]+\\.(targets|snapshot)\\.json$', f)) + ['timestamp.json']
for f in files:
    md = load(f)
    role = md['signed']['_type']
    keys, rk = in_force(role, md)
    total += count(md, keys, rk)
latest = roots[-1]['signed']
assert load('timestamp.json')['signatures'][0]['keyid'] in latest['roles']['timestamp']['keyids']
print(len(roots), len(files), total)
`;

/** SecuresystemslibCount is what the verifier checked: roots, other metadata files, valid signatures. */
export interface SecuresystemslibCount {
  readonly roots: number;
  readonly files: number;
  readonly signatures: number;
}

/** verifyWithSecuresystemslib verifies the metadata in `dir` (see the module comment) or throws with Python's error. */
export function verifyWithSecuresystemslib(dir: string): SecuresystemslibCount {
  const r = spawnSync(python, ['-c', script, dir], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`securesystemslib refused ${dir}: ${r.stderr || r.error?.message}`);
  const [roots, files, signatures] = r.stdout.trim().split(' ').map(Number);
  return { roots: roots ?? 0, files: files ?? 0, signatures: signatures ?? 0 };
}
