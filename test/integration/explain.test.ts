/**
 * `rolegate explain` end to end: a real `rolegate serve` process decides
 * Checks for tokens of a real issuer and writes its audit file; its policy
 * file is changed and the process reloads on SIGHUP; then `rolegate
 * explain`, run as the CLI (`node bin/rolegate.js`, built by
 * RolegateProcess), finds one decision of each generation in the audit file
 * and, replayed against today's configuration, says "same" for the current
 * generation's decisions and "differs" (naming both hashes) for the
 * previous one's.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../src/config/load.js';
import { JwksIssuer } from '../harness/jwks.js';
import { checkOnce } from '../support/check-client.js';
import { allowPolicy, ORDER_ROUTES, webIdentityTrust } from '../support/fixtures.js';
import { metricValue, scrapeMetrics } from '../support/metrics.js';
import { REPO } from '../support/quickstart.js';
import { RolegateProcess } from '../support/rolegate-process.js';

const idp = new JwksIssuer({ audience: 'orders-api' });
const dir = mkdtempSync(join(tmpdir(), 'rolegate-explain-'));
const policyFile = join(dir, 'read.json');
const auditFile = join(dir, 'audit.jsonl');
let serve: RolegateProcess;
let configFile = '';
let token = '';

const ROLE_ARN = 'arn:rolegate:iam:::role/orders-reader';

/** The running process's `--config` file, from its command line (RolegateProcess writes it). */
function configFileOf(pid: number): string {
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  const file = argv[argv.indexOf('--config') + 1];
  if (file === undefined || !existsSync(file)) throw new Error(`no --config in ${argv.join(' ')}`);
  return file;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}\n${serve.output()}`);
}

/** Waits until the process serves the generation whose hash is `hash`. */
async function waitForHash(hash: string): Promise<void> {
  await waitFor(`rolegate_config_info{hash="${hash}"}`, async () => {
    const text = await scrapeMetrics(serve.adminPort);
    return metricValue(text, 'rolegate_config_info', { hash }) === 1 ? true : undefined;
  });
}

/** Checks `method path` with alice's token and expects `allowed`; a surprise shows the audit file. */
async function expectCheck(method: string, path: string, allowed: boolean): Promise<void> {
  const answer = await checkOnce(serve.grpcPort, method, path, token);
  if (answer.allowed === allowed) return;
  await new Promise((r) => setTimeout(r, 1500));
  const audit = existsSync(auditFile) ? readFileSync(auditFile, 'utf8') : '(no audit file)';
  throw new Error(`${method} ${path}: expected allowed=${allowed}\n${audit}\n${serve.output()}`);
}

interface Decision {
  readonly decision_id: string;
  readonly method: string;
  readonly path: string;
  readonly decision: string;
  readonly config_hash: string;
}

/** The audit file's decision records, once it holds `count` of them (the writer buffers). */
async function decisions(count: number): Promise<Decision[]> {
  return waitFor(`${count} audit records in ${auditFile}`, () => {
    const text = existsSync(auditFile) ? readFileSync(auditFile, 'utf8') : '';
    const records = text
      .split('\n')
      .filter((l) => l.includes('"audit":'))
      .map((l) => (JSON.parse(l) as { audit: Decision }).audit);
    return Promise.resolve(records.length >= count ? records : undefined);
  });
}

function find(records: readonly Decision[], method: string, path: string): Decision {
  const found = records.find((r) => r.method === method && r.path === path);
  if (found === undefined) throw new Error(`no record of ${method} ${path}`);
  return found;
}

/** `rolegate explain ...args` as a user runs it. */
function explain(...args: string[]): { status: number | null; out: string; err: string } {
  const run = spawnSync(process.execPath, [join(REPO, 'bin', 'rolegate.js'), 'explain', ...args], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: run.status, out: run.stdout, err: run.stderr };
}

beforeAll(async () => {
  await idp.start();
  writeFileSync(
    policyFile,
    JSON.stringify(allowPolicy('orders:GetOrder', 'arn:rolegate:orders:::order/*', 'Read')),
  );
  const prefix = idp.issuer.replace('http://', '');
  serve = new RolegateProcess(
    {
      issuers: [{ issuer: idp.issuer, audiences: ['orders-api'] }],
      roles: [
        {
          name: 'orders-reader',
          // Conditions only on what the audit record keeps (the subject), so a replay is exact.
          trustPolicy: webIdentityTrust(idp.issuer, {
            StringEquals: { [`${prefix}:sub`]: 'alice' },
          }),
          policies: { read: { file: policyFile } },
        },
      ],
      routes: ORDER_ROUTES,
      audit: { file: auditFile },
    },
    'explain',
  );
  await serve.start();
  configFile = configFileOf(serve.pid as number);
  token = await idp.mint({}, { subject: 'alice' });
}, 240_000);

afterAll(async () => {
  await serve?.stop();
  await idp.stop();
});

describe('rolegate explain against a live rolegate serve', () => {
  it('finds a decision of each generation and says whether today decides the same', async () => {
    const firstHash = loadConfig(configFile).sources?.hash ?? '';
    await waitForHash(firstHash);
    // Generation 1: readers may GET, not DELETE.
    await expectCheck('GET', '/orders/1', true);
    await expectCheck('DELETE', '/orders/1', false);

    // Generation 2: the policy file now grants DELETE only; SIGHUP reloads it.
    writeFileSync(
      policyFile,
      JSON.stringify(allowPolicy('orders:DeleteOrder', 'arn:rolegate:orders:::order/*', 'Delete')),
    );
    const secondHash = loadConfig(configFile).sources?.hash ?? '';
    expect(secondHash).not.toBe(firstHash);
    process.kill(serve.pid as number, 'SIGHUP');
    await waitForHash(secondHash);
    await expectCheck('GET', '/orders/2', false);
    await expectCheck('DELETE', '/orders/2', true);

    const records = await decisions(4);
    const oldAllow = find(records, 'GET', '/orders/1');
    const oldDeny = find(records, 'DELETE', '/orders/1');
    const newDeny = find(records, 'GET', '/orders/2');
    const newAllow = find(records, 'DELETE', '/orders/2');
    expect([oldAllow.config_hash, oldDeny.config_hash]).toEqual([firstHash, firstHash]);
    expect([newDeny.config_hash, newAllow.config_hash]).toEqual([secondHash, secondHash]);

    // A decision of the previous generation: another hash, replayed anyway, and it differs.
    const old = explain(oldAllow.decision_id, '--audit', auditFile, '--config', configFile);
    expect(old.err).toBe('');
    expect(old.status).toBe(0);
    expect(old.out).toContain(`  decision: allow OK (role ${ROLE_ARN})\n`);
    expect(old.out).toContain(
      `Replayed against ${configFile} (config hash ${secondHash}; the decision was made by ${firstHash}: a different configuration, replayed anyway)\n`,
    );
    expect(old.out.trimEnd().split('\n').at(-1)).toBe(
      `Differs: recorded allow OK (role ${ROLE_ARN}), today deny ERR_IMPLICIT_DENY`,
    );
    const oldDenied = explain(oldDeny.decision_id, '--audit', auditFile, '-c', configFile);
    // The record's own explanation: the role was admitted, and no permission statement matched.
    expect(oldDenied.out).toContain(
      '  why:\n    role orders-reader: trust admitted\n      trust orders-reader/trust/#0 (Allow) applied\n      permissions matched: none\n',
    );
    expect(oldDenied.out.trimEnd().split('\n').at(-1)).toBe(
      `Differs: recorded deny ERR_IMPLICIT_DENY, today allow OK (role ${ROLE_ARN})`,
    );

    // A decision of the live generation: the same configuration, the same answer.
    const current = explain(newDeny.decision_id, '--audit', auditFile, '--config', configFile);
    expect(current.status).toBe(0);
    expect(current.out).toContain(
      `Replayed against ${configFile} (config hash ${secondHash}: the configuration that decided)\n`,
    );
    // The deny explains itself from the record: the role was admitted, nothing allowed GetOrder.
    expect(current.out).toContain('  why:\n    role orders-reader: trust admitted\n');
    expect(current.out.trimEnd().split('\n').at(-1)).toBe(
      "Same: today's configuration decides deny ERR_IMPLICIT_DENY, as recorded",
    );
    const json = explain(
      newAllow.decision_id,
      '--audit',
      auditFile,
      '-c',
      configFile,
      '-o',
      'json',
    );
    expect(JSON.parse(json.out)).toMatchObject({
      decision_id: newAllow.decision_id,
      format: 'rolegate',
      record: { decision: 'allow', config_hash: secondHash },
      replay: { sameConfig: true, configHash: secondHash, verdict: 'same', readsUnrecorded: [] },
    });

    // An id that is not there: exit 1, saying how many records were read.
    const missing = explain('no-such-decision', '--audit', auditFile);
    expect(missing.status).toBe(1);
    expect(missing.out).toBe('');
    expect(missing.err).toMatch(
      /^rolegate explain: ERR_DECISION_NOT_FOUND: no decision record has id no-such-decision: read \d+ lines? in 1 file: 4 decision records, /,
    );
  }, 120_000);
});
