/**
 * The Helm chart (deploy/helm/rolegate) without a cluster: `helm lint`,
 * `helm template`, every rendered object validated against the Kubernetes
 * OpenAPI schemas by kubernetes-validate (--strict), deploy/kubernetes equal
 * to the default render, the values table complete, and the properties the
 * issue asks of the Deployment. Helm and kubernetes-validate are the versions
 * pinned in .ci/versions; a missing one fails (test/harness/deploy.ts).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';

import { loadConfig } from '../../src/config/load.js';
import {
  CHART,
  RENDERED_MANIFESTS,
  helmBin,
  helmTemplate,
  kubernetesValidate,
  parseObjects,
  type K8sObject,
} from '../harness/deploy.js';

const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'rolegate-chart-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The header deploy/kubernetes/rolegate.yaml carries above the render. */
const MANIFEST_HEADER =
  '# Generated: helm template rolegate deploy/helm/rolegate --namespace rolegate\n' +
  '# (the chart with its default values). Do not edit: change the chart and\n' +
  '# re-render; test/e2e/deploy-chart.test.ts fails when the two differ.\n';

function one(objects: K8sObject[], kind: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind);
  expect(found).toHaveLength(1);
  return found[0] as K8sObject;
}

/** The chart's ClusterIP Service (the other Service is the headless one). */
function clusterIpService(objects: K8sObject[]): K8sObject {
  const found = objects.filter(
    (o) => o.kind === 'Service' && (o.spec as { clusterIP?: string }).clusterIP !== 'None',
  );
  expect(found).toHaveLength(1);
  return found[0] as K8sObject;
}

interface Container {
  securityContext: Record<string, unknown>;
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  startupProbe: { grpc: { port: number } };
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  ports: { name: string; containerPort: number }[];
  env: { name: string; value: string }[];
}
interface PodSpec {
  terminationGracePeriodSeconds: number;
  securityContext: Record<string, unknown>;
  topologySpreadConstraints: { topologyKey: string; labelSelector: unknown }[];
  containers: Container[];
}
const podSpec = (d: K8sObject) => (d.spec as { template: { spec: PodSpec } }).template.spec;

describe('helm chart', () => {
  let defaults: string;
  let everything: string;

  beforeAll(async () => {
    defaults = await helmTemplate();
    everything = await helmTemplate([
      '--set',
      'serviceMonitor.enabled=true',
      '--set',
      'serviceAccount.awsRoleArn=arn:aws:iam::111122223333:role/rolegate',
      '--set',
      'autoscaling.enabled=false',
      '--set',
      'replicaCount=3',
    ]);
  }, 60_000);

  it('passes helm lint --strict', async () => {
    const { stdout } = await run(await helmBin(), ['lint', '--strict', CHART]);
    expect(stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
  });

  it('renders the same objects as deploy/kubernetes/rolegate.yaml', () => {
    expect(readFileSync(RENDERED_MANIFESTS, 'utf8')).toBe(MANIFEST_HEADER + defaults);
  });

  it('renders only objects the Kubernetes OpenAPI schemas accept (defaults)', async () => {
    const file = join(work, 'defaults.yaml');
    writeFileSync(file, defaults);
    const { code, output } = await kubernetesValidate([file, RENDERED_MANIFESTS]);
    expect(output).not.toMatch(/Couldn't find schema|ERROR|failed/i);
    expect(code).toBe(0);
    const kinds = parseObjects(defaults)
      .map((o) => o.kind)
      .sort();
    expect(kinds).toEqual([
      'ConfigMap',
      'Deployment',
      'HorizontalPodAutoscaler',
      'NetworkPolicy',
      'PodDisruptionBudget',
      'Service',
      'Service',
      'ServiceAccount',
    ]);
    for (const o of parseObjects(defaults))
      expect(output).toContain(`passed for resource ${o.kind.toLowerCase()}/${o.metadata.name}`);
  });

  it('renders only valid objects with every option on; the ServiceMonitor (a CRD) structurally', async () => {
    const file = join(work, 'everything.yaml');
    writeFileSync(file, everything);
    const { code, output } = await kubernetesValidate([file]);
    expect(code).toBe(0);
    // kubernetes-validate ships only the core schemas: it names the one kind it could not check.
    const unchecked = [...output.matchAll(/Couldn't find schema for kind (\S+)/g)].map((m) => m[1]);
    expect(unchecked).toEqual(['ServiceMonitor']);
    const objects = parseObjects(everything);
    const sm = one(objects, 'ServiceMonitor');
    const svc = clusterIpService(objects);
    expect(sm.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(sm.spec).toEqual({
      selector: { matchLabels: (svc.spec as { selector: unknown }).selector },
      endpoints: [{ port: 'admin', path: '/metrics', interval: '30s' }],
    });
    expect((svc.spec as { ports: { name: string }[] }).ports.map((p) => p.name)).toContain('admin');
    expect(objects.some((o) => o.kind === 'HorizontalPodAutoscaler')).toBe(false);
    expect((one(objects, 'Deployment').spec as { replicas: number }).replicas).toBe(3);
  });

  it('adds a headless Service over the ready pods, gRPC only, unless turned off', async () => {
    const objects = parseObjects(defaults);
    const headless = objects.filter(
      (o) => o.kind === 'Service' && (o.spec as { clusterIP?: string }).clusterIP === 'None',
    );
    expect(headless).toHaveLength(1);
    const svc = headless[0] as K8sObject;
    const spec = svc.spec as {
      selector: Record<string, string>;
      publishNotReadyAddresses: boolean;
      ports: { name: string; port: number; targetPort: string }[];
    };
    expect(svc.metadata.name).toBe('rolegate-headless');
    // The same pods as the Deployment, and only those that are ready.
    const podLabels = (
      one(objects, 'Deployment').spec as {
        template: { metadata: { labels: Record<string, string> } };
      }
    ).template.metadata.labels;
    expect(Object.entries(spec.selector).every(([k, v]) => podLabels[k] === v)).toBe(true);
    expect(spec.selector).toEqual(
      (clusterIpService(objects).spec as { selector: unknown }).selector,
    );
    expect(spec.publishNotReadyAddresses).toBe(false);
    // No admin port: the ServiceMonitor, which selects both Services' labels, scrapes each pod once.
    expect(spec.ports.map((p) => [p.name, p.port, p.targetPort])).toEqual([['grpc', 9001, 'grpc']]);

    const off = parseObjects(await helmTemplate(['--set', 'service.headless.enabled=false']));
    expect(off.filter((o) => o.kind === 'Service').map((o) => o.metadata.name)).toEqual([
      'rolegate',
    ]);
  });

  it('annotates the ServiceAccount for EKS IRSA only when a role ARN is given', () => {
    const sa = one(parseObjects(everything), 'ServiceAccount');
    expect(sa.metadata.annotations).toEqual({
      'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/rolegate',
    });
    expect(one(parseObjects(defaults), 'ServiceAccount').metadata.annotations).toBeUndefined();
  });

  it('runs rolegate non-root on a read-only root filesystem, with requests, limits, probes and spread', () => {
    const objects = parseObjects(defaults);
    const deployment = one(objects, 'Deployment');
    const pod = podSpec(deployment);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    const [c] = pod.containers;
    expect(c?.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(Object.keys(c?.resources.requests ?? {}).sort()).toEqual(['cpu', 'memory']);
    expect(Object.keys(c?.resources.limits ?? {}).sort()).toEqual(['cpu', 'memory']);
    expect(c?.ports).toEqual([
      { name: 'grpc', containerPort: 9001, protocol: 'TCP' },
      { name: 'admin', containerPort: 9002, protocol: 'TCP' },
    ]);
    expect(c?.startupProbe.grpc.port).toBe(9001);
    expect(c?.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'admin' });
    expect(c?.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'admin' });
    expect(c?.env).toContainEqual({ name: 'ROLEGATE_LISTEN_HOST', value: '0.0.0.0' });
    expect(pod.topologySpreadConstraints.map((t) => t.topologyKey)).toEqual([
      'topology.kubernetes.io/zone',
      'kubernetes.io/hostname',
    ]);
    // Terminating takes shutdownDelaySeconds + drainSeconds; Kubernetes waits longer.
    const config = parse(one(objects, 'ConfigMap').data?.['rolegate.yaml'] ?? '') as {
      server: { shutdownDelaySeconds: number; drainSeconds: number };
    };
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(
      config.server.shutdownDelaySeconds + config.server.drainSeconds,
    );
    // The HPA owns the replica count.
    expect((deployment.spec as { replicas?: number }).replicas).toBeUndefined();
  });

  it('refuses a grace period that does not cover the drain', async () => {
    await expect(helmTemplate(['--set', 'terminationGracePeriodSeconds=15'])).rejects.toThrow(
      /terminationGracePeriodSeconds \(15\) must exceed .* \(15\)/,
    );
  });

  it('ships a default config that rolegate itself loads', () => {
    const file = join(work, 'rolegate.yaml');
    writeFileSync(file, one(parseObjects(defaults), 'ConfigMap').data?.['rolegate.yaml'] ?? '');
    expect(() => loadConfig(file)).not.toThrow();
  });

  it('documents every value in the README table, and nothing else', () => {
    const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Record<
      string,
      unknown
    >;
    const readme = readFileSync(join(CHART, 'README.md'), 'utf8');
    const table = [...readme.matchAll(/^\| `([^`]+)` +\|/gm)].map((m) => m[1] as string);
    const has = (path: string) =>
      path
        .split('.')
        .reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], values) !==
      undefined;
    for (const key of table) expect({ key, inValues: has(key) }).toEqual({ key, inValues: true });
    const leaves: string[] = [];
    const walk = (o: Record<string, unknown>, prefix: string) => {
      for (const [k, v] of Object.entries(o)) {
        const path = prefix + k;
        if (table.includes(path)) continue;
        if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0)
          walk(v as Record<string, unknown>, `${path}.`);
        else leaves.push(path);
      }
    };
    walk(values, '');
    expect(leaves).toEqual([]);
  });
});
