/**
 * `rolegate diff` on PR-sized changes of the example configuration: a
 * widening change is new access with a witness that reproduces under
 * `simulate`'s decision, a narrowing one is "no new access", a construct
 * outside the covered fragment is unknown (exit 2) and named.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { parseCommandArgs } from '../../../src/cli/args.js';
import { COMMANDS } from '../../../src/cli/commands.js';
import { runDiff } from '../../../src/cli/diff.js';
import { decideClaims } from '../../../src/cli/simulate-config.js';
import { loadConfig } from '../../../src/config/load.js';
import { runCli, sink } from './cli-io.js';

const EXAMPLE = fileURLToPath(new URL('../../../examples/rolegate.yaml', import.meta.url));
const NOW = Date.parse('2026-06-01T00:00:00Z');
const dir = mkdtempSync(join(tmpdir(), 'rolegate-diff-'));

function variant(name: string, from: string, to: string): string {
  const text = readFileSync(EXAMPLE, 'utf8');
  expect(text).toContain(from);
  const file = join(dir, name);
  writeFileSync(file, text.replace(from, to));
  return file;
}

/** Readers may also create orders. */
const WIDEN = variant(
  'widen.yaml',
  "Action: ['orders:Get*', 'orders:List*']",
  "Action: ['orders:Get*', 'orders:List*', 'orders:CreateOrder']",
);
/** Admins lose DeleteOrder. */
const NARROW = variant(
  'narrow.yaml',
  "            Action: 'orders:*'\n            Resource: 'arn:rolegate:orders:::order/*'\n    permissionsBoundary:",
  "            NotAction: 'orders:DeleteOrder'\n            Resource: 'arn:rolegate:orders:::order/*'\n    permissionsBoundary:",
);
/** A condition on a key the prover does not cover. */
const UNCOVERED = variant(
  'uncovered.yaml',
  "Resource: 'arn:rolegate:orders:::order/*'\n\n  - name: orders-admin",
  "Resource: 'arn:rolegate:orders:::order/*'\n            Condition: { StringEquals: { 'aws:userid': 'x' } }\n\n  - name: orders-admin",
);

/** The list route takes its tags from a Backstage catalog. */
const OWNED = variant(
  'owned.yaml',
  'routes:\n  - {\n      method: GET,\n      path: /orders,\n',
  "catalog: { backstage: { baseUrl: 'http://127.0.0.1:7007', tokenEnv: 'CATALOG_TOKEN' } }\nroutes:\n  - {\n      method: GET,\n      path: /orders,\n      entity: 'component:default/orders',\n",
);

async function diff(argv: string[]): Promise<{ status: number; out: string; err: string }> {
  const out = sink();
  const err = sink();
  const args = parseCommandArgs('diff', argv, COMMANDS.diff.flags, true);
  const status = await runDiff(
    args,
    { stdin: process.stdin, stdout: out.stream, stderr: err.stream },
    () => NOW,
  );
  return { status, out: out.text(), err: err.text() };
}

describe('rolegate diff --old --new', () => {
  it('finds the new access of a widening change, with a witness that reproduces', async () => {
    const r = await diff([
      '--old',
      EXAMPLE,
      '--new',
      WIDEN,
      '--fail-on',
      'new-access',
      '--format',
      'json',
    ]);
    expect(r.status).toBe(1);
    expect(r.err).toContain('ERR_DIFF_NEW_ACCESS');
    const doc = JSON.parse(r.out) as {
      result: string;
      findings: { change: string; route: string; role: string; witness: Record<string, unknown> }[];
    };
    expect(doc.result).toBe('proved');
    const [f] = doc.findings;
    expect(f).toMatchObject({ change: 'new-access', route: 'POST /orders', role: 'orders-reader' });
    const w = f?.witness as {
      claims: Record<string, unknown>;
      method: string;
      path: string;
      host: string;
      headers: Record<string, string>;
      time: string;
    };
    const input = { method: w.method, path: w.path, host: w.host, headers: w.headers };
    expect(
      decideClaims(w.claims, input, loadConfig(WIDEN), Date.parse(w.time)).outcome.allowed,
    ).toBe(true);
    expect(
      decideClaims(w.claims, input, loadConfig(EXAMPLE), Date.parse(w.time)).outcome.allowed,
    ).toBe(false);
  });

  it('proves a narrowing change gives no new access (exit 0 with --fail-on new-access)', async () => {
    const r = await diff(['--old', EXAMPLE, '--new', NARROW, '--fail-on', 'new-access']);
    expect(r.status).toBe(0);
    expect(r.out).toContain(
      'REMOVED ACCESS  DELETE /orders/{id}  orders:DeleteOrder  role orders-admin',
    );
    expect(r.out).toContain('proved: no new access');
  });

  it('proves an unchanged configuration changes nothing', async () => {
    const r = await diff(['--old', EXAMPLE, '--new', EXAMPLE]);
    expect(r.status).toBe(0);
    expect(r.out).toContain('proved: no decision changes');
  });

  it('answers unknown (exit 2) for a key it does not cover, naming file, statement and JSON path', async () => {
    const r = await diff(['--old', EXAMPLE, '--new', UNCOVERED]);
    expect(r.status).toBe(2);
    expect(r.err).toContain('ERR_DIFF_UNKNOWN');
    expect(r.err).toContain('context key aws:userid');
    expect(r.err).toContain('statement ReadOrders');
    expect(r.err).toContain('.Condition["StringEquals"]["aws:userid"]');
  });
});

describe('rolegate diff and the catalog', () => {
  it('answers unknown (exit 2) for a route whose tags come from the catalog, naming it', async () => {
    const r = await diff(['--old', EXAMPLE, '--new', OWNED]);
    expect(r.status).toBe(2);
    expect(r.err).toContain('ERR_DIFF_UNKNOWN');
    expect(r.err).toContain('route GET /orders takes its resource tags from the Backstage catalog');
    expect(r.err).toContain('$.routes[0].entity');
  });
});

describe('rolegate diff not-granted and public', () => {
  it('proves no identity can purge orders', async () => {
    const r = await diff(['not-granted', '--config', EXAMPLE, '--action', 'orders:PurgeOrders']);
    expect(r.status).toBe(0);
    expect(r.out).toContain('proved: no identity can perform orders:PurgeOrders');
  });

  it('exits 1 with a witness when some identity can', async () => {
    const r = await diff([
      'not-granted',
      '--config',
      EXAMPLE,
      '--action',
      'orders:DeleteOrder',
      '--resource',
      'arn:rolegate:orders:::order/*',
    ]);
    expect(r.status).toBe(1);
    expect(r.err).toContain('ERR_DIFF_GRANTED');
    expect(r.out).toContain('GRANTED  DELETE /orders/{id}  orders:DeleteOrder');
    expect(r.out).toContain('"groups"');
  });

  it('finds nothing public in the example: every role asks for a group', async () => {
    const r = await diff(['public', '--config', EXAMPLE]);
    expect(r.status).toBe(0);
  });

  it('finds a route every token of the issuer reaches once a trust policy drops its conditions', async () => {
    const open = variant(
      'open.yaml',
      "            ForAnyValue:StringEquals: { 'jwt:groups': [readers, admins] }\n",
      '',
    );
    const r = await diff(['public', '--config', open]);
    expect(r.status).toBe(1);
    expect(r.out).toContain('PUBLIC  GET /orders  orders:ListOrders');
    expect(r.out).toContain('every token of http://127.0.0.1:9100');
  });
});

describe('rolegate diff (command line)', () => {
  it('is a command with its own help', async () => {
    const r = await runCli(['diff', '--help']);
    expect(r.status).toBe(0);
    expect(r.out).toContain('rolegate diff --old FILE --new FILE');
  });

  it('refuses an unknown mode as a usage error', async () => {
    const r = await runCli(['diff', 'sideways']);
    expect(r.status).toBe(2);
    expect(r.err).toContain('ERR_USAGE');
  });
});
