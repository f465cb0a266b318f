/**
 * The files of docs/kubernetes.md and docs/eks.md, each checked here (no
 * cluster needed):
 * - Envoy configs (the sidecars, the quickstart's) by the real Envoy binary in
 *   `--mode validate` (envoy/find-envoy-bin.sh);
 * - Kubernetes core objects by kubernetes-validate --strict against the
 *   Kubernetes OpenAPI schemas;
 * - the chart rendered with each example's values, validated the same way,
 *   and its rolegate.yaml loaded by rolegate's own config loader; the EKS
 *   example pulls the image docs/eks.md pushes (ECR, the package version);
 * - Istio and Envoy Gateway objects are CRDs: kubernetes-validate ships only
 *   the core schemas and says so (`Couldn't find schema`, checked below, so
 *   nothing passes silently); their CRD schemas are not on this machine, so
 *   they are checked structurally: the fields each needs and that their
 *   references meet (provider names, Service name, namespace and port).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';

import { loadConfig } from '../../src/config/load.js';
import {
  REPO,
  envoyValidate,
  helmTemplate,
  kubernetesValidate,
  parseObjects,
  type K8sObject,
} from '../harness/deploy.js';

const EX = join(REPO, 'examples', 'kubernetes');
const VERSION = (
  JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }
).version;
/** Where docs/eks.md pushes the image (the example account and region). */
const ECR_REPOSITORY = '111122223333.dkr.ecr.eu-west-1.amazonaws.com/rolegate';
const work = mkdtempSync(join(tmpdir(), 'rolegate-examples-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const objectsOf = (file: string) => parseObjects(readFileSync(file, 'utf8'));
const kind = (objects: K8sObject[], k: string) => {
  const found = objects.filter((o) => o.kind === k);
  expect(found).toHaveLength(1);
  return found[0] as K8sObject;
};

/**
 * A Service of the chart for release `rolegate` in namespace `rolegate`: the
 * ClusterIP one (mesh and gateway controllers resolve its endpoints
 * themselves), or the headless one (a plain Envoy's STRICT_DNS cluster).
 */
async function chartService(which: 'clusterIP' | 'headless' = 'clusterIP'): Promise<{
  host: string;
  name: string;
  namespace: string;
  grpcPort: number;
}> {
  const services = parseObjects(await helmTemplate()).filter((o) => o.kind === 'Service');
  const headless = (o: K8sObject) => (o.spec as { clusterIP?: string }).clusterIP === 'None';
  const matching = services.filter((o) => headless(o) === (which === 'headless'));
  expect(matching).toHaveLength(1);
  const svc = matching[0] as K8sObject;
  const port = (svc.spec as { ports: { name: string; port: number }[] }).ports.find(
    (p) => p.name === 'grpc',
  );
  const namespace = svc.metadata.namespace ?? '';
  return {
    host: `${svc.metadata.name}.${namespace}.svc.cluster.local`,
    name: svc.metadata.name,
    namespace,
    grpcPort: port?.port ?? 0,
  };
}

describe('Envoy configs', () => {
  it.each(['envoy/envoy.yaml', 'examples/kubernetes/sidecar/envoy.yaml'])(
    '%s passes envoy --mode validate',
    async (file) => {
      expect(await envoyValidate(join(REPO, file))).toContain(
        `configuration '${join(REPO, file)}' OK`,
      );
    },
    60_000,
  );

  it("the sidecar's ext_authz cluster is the chart's headless Service (STRICT_DNS, every pod), health checked over gRPC", async () => {
    const envoy = parse(readFileSync(join(EX, 'sidecar', 'envoy.yaml'), 'utf8')) as {
      static_resources: {
        clusters: {
          name: string;
          type?: string;
          health_checks?: { grpc_health_check?: object }[];
          load_assignment: {
            endpoints: {
              lb_endpoints: {
                endpoint: { address: { socket_address: { address: string; port_value: number } } };
              }[];
            }[];
          };
        }[];
      };
    };
    const cluster = envoy.static_resources.clusters.find((c) => c.name === 'rolegate');
    const address =
      cluster?.load_assignment.endpoints[0]?.lb_endpoints[0]?.endpoint.address.socket_address;
    const svc = await chartService('headless');
    expect(address).toEqual({ address: svc.host, port_value: svc.grpcPort });
    // Every address the name resolves to is a host of its own, health-checked on its own.
    expect(cluster?.type).toBe('STRICT_DNS');
    expect(cluster?.health_checks?.[0]?.grpc_health_check).toEqual({});
  });
});

describe('sidecar example', () => {
  it('orders.yaml holds only objects the Kubernetes schemas accept', async () => {
    const { code, output } = await kubernetesValidate([join(EX, 'sidecar', 'orders.yaml')]);
    expect(output).not.toMatch(/Couldn't find schema|ERROR/);
    expect(code).toBe(0);
    const deployment = kind(objectsOf(join(EX, 'sidecar', 'orders.yaml')), 'Deployment');
    const containers = (
      deployment.spec as { template: { spec: { containers: { name: string }[] } } }
    ).template.spec.containers;
    expect(containers.map((c) => c.name)).toEqual(['orders', 'envoy']);
  });

  it('the chart rendered with rolegate-values.yaml is valid, and rolegate loads its config', async () => {
    const rendered = await helmTemplate(['-f', join(EX, 'sidecar', 'rolegate-values.yaml')]);
    const file = join(work, 'sidecar-rolegate.yaml');
    writeFileSync(file, rendered);
    const { code, output } = await kubernetesValidate([file]);
    expect(output).not.toMatch(/Couldn't find schema|ERROR/);
    expect(code).toBe(0);
    const configFile = join(work, 'rolegate.yaml');
    writeFileSync(
      configFile,
      kind(parseObjects(rendered), 'ConfigMap').data?.['rolegate.yaml'] ?? '',
    );
    const config = loadConfig(configFile);
    expect(config.settings.mtls).toMatchObject({ enabled: true, trustDomains: ['example.org'] });
  });
});

describe('Istio', () => {
  const mesh = () =>
    parse(
      kind(objectsOf(join(EX, 'istio', 'mesh-config.yaml')), 'ConfigMap').data?.['mesh'] ?? '',
    ) as {
      pathNormalization: { normalization: string };
      extensionProviders: {
        name: string;
        envoyExtAuthzGrpc: { service: string; port: number; failOpen: boolean };
      }[];
    };

  it('mesh-config.yaml is a valid ConfigMap whose provider is the chart Service, failing closed', async () => {
    const { code, output } = await kubernetesValidate([join(EX, 'istio', 'mesh-config.yaml')]);
    expect(output).not.toMatch(/Couldn't find schema|ERROR/);
    expect(code).toBe(0);
    const svc = await chartService();
    const m = mesh();
    expect(m.extensionProviders).toEqual([
      expect.objectContaining({
        name: 'rolegate',
        envoyExtAuthzGrpc: expect.objectContaining({
          service: svc.host,
          port: svc.grpcPort,
          failOpen: false,
        }),
      }),
    ]);
    // MERGE_SLASHES = Envoy's normalize_path + merge_slashes.
    expect(m.pathNormalization.normalization).toBe('MERGE_SLASHES');
  });

  it('authorization-policy.yaml: CUSTOM with that provider, STRICT mTLS (CRDs, checked structurally)', async () => {
    const file = join(EX, 'istio', 'authorization-policy.yaml');
    const { code, output } = await kubernetesValidate([file]);
    expect(code).toBe(0);
    expect(
      [...output.matchAll(/Couldn't find schema for kind (\S+) with api version (\S+)/g)].map(
        (m) => `${m[2]}/${m[1]}`,
      ),
    ).toEqual([
      'security.istio.io/v1/AuthorizationPolicy',
      'security.istio.io/v1/PeerAuthentication',
    ]);
    const objects = objectsOf(file);
    const policy = kind(objects, 'AuthorizationPolicy');
    expect(policy.spec).toMatchObject({
      action: 'CUSTOM',
      provider: { name: mesh().extensionProviders[0]?.name },
    });
    expect((policy.spec as { rules: unknown[] }).rules.length).toBeGreaterThan(0);
    expect(kind(objects, 'PeerAuthentication').spec).toMatchObject({ mtls: { mode: 'STRICT' } });
    for (const o of objects)
      expect(o.metadata).toMatchObject({ name: expect.any(String), namespace: 'orders' });
  });
});

describe('Envoy Gateway', () => {
  it('security-policy.yaml: extAuth gRPC to the chart Service, granted, paths canonical (CRDs, checked structurally)', async () => {
    const file = join(EX, 'envoy-gateway', 'security-policy.yaml');
    const { code, output } = await kubernetesValidate([file]);
    expect(code).toBe(0);
    expect([...output.matchAll(/Couldn't find schema for kind (\S+)/g)].map((m) => m[1])).toEqual([
      'SecurityPolicy',
      'ClientTrafficPolicy',
      'ReferenceGrant',
      'HTTPRoute',
    ]);
    const objects = objectsOf(file);
    const svc = await chartService();
    const security = kind(objects, 'SecurityPolicy');
    const route = kind(objects, 'HTTPRoute');
    expect(security.apiVersion).toBe('gateway.envoyproxy.io/v1alpha1');
    expect(security.spec).toEqual({
      targetRefs: [
        { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: route.metadata.name },
      ],
      extAuth: {
        failOpen: false,
        grpc: { backendRefs: [{ name: svc.name, namespace: svc.namespace, port: svc.grpcPort }] },
      },
    });
    const grant = kind(objects, 'ReferenceGrant');
    expect(grant.metadata.namespace).toBe(svc.namespace);
    expect(grant.spec).toEqual({
      from: [
        {
          group: 'gateway.envoyproxy.io',
          kind: 'SecurityPolicy',
          namespace: security.metadata.namespace,
        },
      ],
      to: [{ group: '', kind: 'Service', name: svc.name }],
    });
    expect(kind(objects, 'ClientTrafficPolicy').spec).toMatchObject({
      path: { disableMergeSlashes: false, escapedSlashesAction: 'RejectRequest' },
    });
  });
});

describe('EKS example (docs/eks.md)', () => {
  const EKS = join(REPO, 'examples', 'eks');

  it('billing-pod.yaml is valid and projects a token for an audience rolegate accepts', async () => {
    const file = join(EKS, 'billing-pod.yaml');
    const { code, output } = await kubernetesValidate([file]);
    expect(output).not.toMatch(/Couldn't find schema|ERROR/);
    expect(code).toBe(0);
    const pod = kind(objectsOf(file), 'Pod');
    const projected = (
      pod.spec as {
        volumes: { projected?: { sources: { serviceAccountToken?: { audience: string } }[] } }[];
      }
    ).volumes
      .flatMap((v) => v.projected?.sources ?? [])
      .map((s) => s.serviceAccountToken?.audience);
    const values = parse(readFileSync(join(EKS, 'rolegate-values.yaml'), 'utf8')) as {
      config: { issuers: { audiences: string[] }[] };
    };
    expect(values.config.issuers[0]?.audiences).toEqual(projected);
  });

  it('the chart rendered with rolegate-values.yaml is valid, annotated for IRSA, and rolegate loads its config', async () => {
    const rendered = await helmTemplate(['-f', join(EKS, 'rolegate-values.yaml')]);
    const file = join(work, 'eks-rolegate.yaml');
    writeFileSync(file, rendered);
    const { code, output } = await kubernetesValidate([file]);
    expect(output).not.toMatch(/Couldn't find schema|ERROR/);
    expect(code).toBe(0);
    const objects = parseObjects(rendered);
    expect(kind(objects, 'ServiceAccount').metadata.annotations).toEqual({
      'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/rolegate',
    });
    const configFile = join(work, 'eks-config.yaml');
    writeFileSync(configFile, kind(objects, 'ConfigMap').data?.['rolegate.yaml'] ?? '');
    expect(loadConfig(configFile).settings.issuers).toHaveLength(1);
    // The image pushed in docs/eks.md step 1: the ECR repository, tagged with the package version.
    const container = (
      kind(objects, 'Deployment').spec as {
        template: { spec: { containers: { image: string }[] } };
      }
    ).template.spec.containers[0];
    expect(container?.image).toBe(`${ECR_REPOSITORY}:${VERSION}`);
  });

  it("orders-envoy.yaml passes envoy --mode validate, fails closed, and asks the chart's headless Service", async () => {
    const file = join(EKS, 'orders-envoy.yaml');
    expect(await envoyValidate(file)).toContain(`configuration '${file}' OK`);
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/failure_mode_allow: false/);
    const envoy = parse(text) as {
      static_resources: {
        clusters: {
          name: string;
          type?: string;
          load_assignment: {
            endpoints: {
              lb_endpoints: {
                endpoint: { address: { socket_address: { address: string; port_value: number } } };
              }[];
            }[];
          };
        }[];
      };
    };
    const cluster = envoy.static_resources.clusters.find((c) => c.name === 'rolegate');
    const svc = await chartService('headless');
    expect(cluster?.type).toBe('STRICT_DNS');
    expect(
      cluster?.load_assignment.endpoints[0]?.lb_endpoints[0]?.endpoint.address.socket_address,
    ).toEqual({ address: svc.host, port_value: svc.grpcPort });
  }, 60_000);

  it('orders.yaml is valid, exposes only Envoy, and runs the echo upstream of the pushed image', async () => {
    const file = join(EKS, 'orders.yaml');
    const { code, output } = await kubernetesValidate([file]);
    expect(output).not.toMatch(/Couldn't find schema|ERROR/);
    expect(code).toBe(0);
    const objects = objectsOf(file);
    interface Container {
      name: string;
      image: string;
      command?: string[];
      env?: { name: string; value: string }[];
      ports?: { name: string; containerPort: number }[];
    }
    const pod = (
      kind(objects, 'Deployment').spec as {
        template: {
          spec: { containers: Container[]; volumes: { configMap?: { name: string } }[] };
        };
      }
    ).template.spec;
    const [orders, envoy] = pod.containers;
    expect(orders?.image).toBe(`${ECR_REPOSITORY}:${VERSION}`);
    // The image holds examples/ (Dockerfile), so the echo upstream is in it.
    expect(orders?.command).toEqual(['node', 'examples/echo-upstream.mjs']);
    expect(existsSync(join(REPO, 'examples', 'echo-upstream.mjs'))).toBe(true);
    // The API listens on the pod's loopback, where the sidecar's orders cluster sends.
    const env = Object.fromEntries((orders?.env ?? []).map((e) => [e.name, e.value]));
    const envoyConfig = readFileSync(join(EKS, 'orders-envoy.yaml'), 'utf8');
    const sidecar = parse(envoyConfig) as {
      static_resources: {
        listeners: { address: { socket_address: { port_value: number } } }[];
        clusters: {
          name: string;
          load_assignment: {
            endpoints: {
              lb_endpoints: {
                endpoint: { address: { socket_address: { address: string; port_value: number } } };
              }[];
            }[];
          };
        }[];
      };
    };
    const upstream = sidecar.static_resources.clusters.find((c) => c.name === 'orders')
      ?.load_assignment.endpoints[0]?.lb_endpoints[0]?.endpoint.address.socket_address;
    expect(upstream).toEqual({ address: env['HOST'], port_value: Number(env['PORT']) });
    expect(env['HOST']).toBe('127.0.0.1');
    const listen = sidecar.static_resources.listeners[0]?.address.socket_address.port_value;
    expect(envoy?.ports).toEqual([{ name: 'envoy-http', containerPort: listen }]);
    const service = kind(objects, 'Service').spec as { ports: { targetPort: string }[] };
    expect(service.ports.map((p) => p.targetPort)).toEqual(['envoy-http']);
    expect(pod.volumes.map((v) => v.configMap?.name)).toContain('orders-envoy');
  });
});

describe('ECS example (docs/kubernetes.md, App Mesh successors)', () => {
  const ECS = join(REPO, 'examples', 'ecs');

  it('envoy.yaml passes envoy --mode validate', async () => {
    const file = join(ECS, 'envoy.yaml');
    expect(await envoyValidate(file)).toContain(`configuration '${file}' OK`);
  }, 60_000);

  it('task-definition.json wires Envoy, rolegate and the app on the task loopback (structurally: no ECS schema here)', () => {
    interface Container {
      name: string;
      environment?: { name: string; value: string }[];
      portMappings?: { name: string; containerPort: number }[];
      dependsOn?: { containerName: string; condition: string }[];
      stopTimeout?: number;
      user?: string;
    }
    const task = JSON.parse(readFileSync(join(ECS, 'task-definition.json'), 'utf8')) as {
      networkMode: string;
      containerDefinitions: Container[];
    };
    const envoy = parse(readFileSync(join(ECS, 'envoy.yaml'), 'utf8')) as {
      static_resources: {
        listeners: { address: { socket_address: { port_value: number } } }[];
        clusters: {
          name: string;
          load_assignment: {
            endpoints: {
              lb_endpoints: {
                endpoint: { address: { socket_address: { address: string; port_value: number } } };
              }[];
            }[];
          };
        }[];
      };
    };
    const byName = (n: string) => task.containerDefinitions.find((c) => c.name === n) as Container;
    const target = (cluster: string) =>
      envoy.static_resources.clusters.find((c) => c.name === cluster)?.load_assignment.endpoints[0]
        ?.lb_endpoints[0]?.endpoint.address.socket_address;
    expect(task.networkMode).toBe('awsvpc');
    expect(byName('envoy').portMappings?.[0]?.containerPort).toBe(
      envoy.static_resources.listeners[0]?.address.socket_address.port_value,
    );
    expect(target('orders')).toEqual({
      address: '127.0.0.1',
      port_value: byName('orders').portMappings?.[0]?.containerPort,
    });
    // rolegate's default gRPC port, on the task loopback only.
    expect(target('rolegate')).toEqual({ address: '127.0.0.1', port_value: 9001 });
    expect(byName('rolegate').environment).toContainEqual({
      name: 'ROLEGATE_LISTEN_HOST',
      value: '127.0.0.1',
    });
    expect(byName('rolegate').portMappings).toBeUndefined();
    expect(byName('rolegate').user).toBe('1000');
    expect(byName('envoy').dependsOn).toEqual([
      { containerName: 'rolegate', condition: 'HEALTHY' },
    ]);
    // Longer than rolegate's default shutdownDelaySeconds (3) + drainSeconds (10).
    expect(byName('rolegate').stopTimeout).toBeGreaterThan(13);
  });
});
