// deploy/helm/rolegate/values.schema.json from the chart's values.yaml and
// schema/rolegate.schema.json. Pure: `scripts/write-chart-schema.mjs` writes
// the file, test/unit/deploy/chart-schema.test.ts compares it with the
// committed one.
//
// Helm (3.18 and later: santhosh-tekuri/jsonschema, draft 2020-12) checks
// the merged values against values.schema.json on lint, template, install
// and upgrade. The shape comes from values.yaml itself, so a key added there
// reaches the schema on the next `npm run schema`: a scalar's type is its
// default's, an object with keys refuses any other key (a typo such as
// `replicaCont` fails instead of being ignored). Lists and free-form maps
// have no shape to infer from their default, so each is described in
// SHAPES below; a list or empty map missing there fails the generation.
// `config` is rolegate.yaml itself: the rolegate schema, the one
// `rolegate validate` applies, embedded under $defs because Helm resolves
// an external $ref over the network, if at all.
import { parseDocument } from 'yaml';

const DRAFT = 'https://json-schema.org/draft/2020-12/schema';
const CONFIG_DEF = 'rolegateConfig';

/** A map of Kubernetes label or annotation values. */
const stringMap = { type: 'object', additionalProperties: { type: 'string' } };
/** A Kubernetes resource quantity: `100m`, `'1'`, `1`, `512Mi`. */
const quantity = {
  anyOf: [{ type: 'string', pattern: '^[0-9.]+([a-zA-Z]{1,2})?$' }, { type: 'number' }],
};
/** The probe timings the chart passes through; the handler (grpc, httpGet) is the chart's. */
const probeTimings = {
  type: 'object',
  properties: Object.fromEntries(
    [
      'initialDelaySeconds',
      'periodSeconds',
      'timeoutSeconds',
      'successThreshold',
      'failureThreshold',
      'terminationGracePeriodSeconds',
    ].map((k) => [k, { type: 'integer', minimum: k === 'initialDelaySeconds' ? 0 : 1 }]),
  ),
  additionalProperties: false,
};
/** A NetworkPolicyPeer. */
const networkPolicyPeer = {
  type: 'object',
  properties: {
    podSelector: { type: 'object' },
    namespaceSelector: { type: 'object' },
    ipBlock: { type: 'object' },
  },
  additionalProperties: false,
};

/**
 * What values.yaml cannot say by its defaults: lists, free-form maps, and
 * scalars with a narrower range than their type. Keyed by dotted path.
 */
export const SHAPES = {
  // An umbrella chart that depends on this one hands it its `global` values.
  global: { type: 'object' },
  replicaCount: { type: 'integer', minimum: 0 },
  'image.repository': { type: 'string', minLength: 1 },
  'image.pullPolicy': { enum: ['Always', 'IfNotPresent', 'Never'] },
  imagePullSecrets: {
    type: 'array',
    items: {
      type: 'object',
      properties: { name: { type: 'string', minLength: 1 } },
      required: ['name'],
      additionalProperties: false,
    },
  },
  'serviceAccount.awsRoleArn': {
    type: 'string',
    pattern: '^(arn:aws[a-z-]*:iam::[0-9]{12}:role/.+)?$',
  },
  'serviceAccount.annotations': stringMap,
  // rolegate.yaml is the chart's own key in the ConfigMap.
  extraConfigFiles: {
    type: 'object',
    propertyNames: { pattern: '^[-._a-zA-Z0-9]+$', not: { const: 'rolegate.yaml' } },
    additionalProperties: { type: 'string' },
  },
  terminationGracePeriodSeconds: { type: 'integer', minimum: 1 },
  logLevel: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
  extraEnv: {
    type: 'array',
    items: {
      type: 'object',
      properties: {
        name: { type: 'string', minLength: 1 },
        value: { type: 'string' },
        valueFrom: { type: 'object' },
      },
      required: ['name'],
      additionalProperties: false,
    },
  },
  resources: {
    type: 'object',
    properties: {
      requests: { type: 'object', additionalProperties: quantity },
      limits: { type: 'object', additionalProperties: quantity },
    },
    additionalProperties: false,
  },
  'probes.startup': probeTimings,
  'probes.liveness': probeTimings,
  'probes.readiness': probeTimings,
  podLabels: stringMap,
  podAnnotations: stringMap,
  // The chart adds each constraint's labelSelector: one given here would clash.
  topologySpread: {
    type: 'array',
    items: {
      type: 'object',
      properties: {
        topologyKey: { type: 'string', minLength: 1 },
        maxSkew: { type: 'integer', minimum: 1 },
        whenUnsatisfiable: { enum: ['DoNotSchedule', 'ScheduleAnyway'] },
        minDomains: { type: 'integer', minimum: 1 },
        nodeAffinityPolicy: { enum: ['Honor', 'Ignore'] },
        nodeTaintsPolicy: { enum: ['Honor', 'Ignore'] },
        matchLabelKeys: { type: 'array', items: { type: 'string' } },
      },
      required: ['topologyKey', 'maxSkew', 'whenUnsatisfiable'],
      additionalProperties: false,
    },
  },
  nodeSelector: stringMap,
  tolerations: { type: 'array', items: { type: 'object' } },
  affinity: { type: 'object' },
  'service.type': { enum: ['ClusterIP', 'NodePort', 'LoadBalancer'] },
  'service.annotations': stringMap,
  'podDisruptionBudget.minAvailable': {
    anyOf: [
      { type: 'integer', minimum: 0 },
      { type: 'string', pattern: '^[0-9]+%$' },
    ],
  },
  'autoscaling.minReplicas': { type: 'integer', minimum: 1 },
  'autoscaling.maxReplicas': { type: 'integer', minimum: 1 },
  'autoscaling.targetCPUUtilizationPercentage': { type: 'integer', minimum: 1 },
  'networkPolicy.grpcFrom': { type: 'array', items: networkPolicyPeer },
  'networkPolicy.adminFrom': { type: 'array', items: networkPolicyPeer },
  'networkPolicy.egressPorts': {
    type: 'array',
    items: { type: 'integer', minimum: 1, maximum: 65535 },
  },
  'serviceMonitor.interval': { type: 'string', pattern: '^([0-9]+(ms|s|m|h))+$' },
  'serviceMonitor.labels': stringMap,
};

/** The `# -- ` comment of a key in values.yaml (helm-docs style), as one line. */
function describe(comment) {
  if (comment === undefined || comment === null) return undefined;
  const at = comment.lastIndexOf('-- ');
  if (at < 0) return undefined;
  return comment
    .slice(at + 3)
    .split('\n')
    .map((l) => l.trim())
    .join(' ')
    .trim();
}

/** The schema of one value: its SHAPES entry, else inferred from its default. */
function shapeOf(path, node, comment) {
  const known = SHAPES[path];
  let shape;
  if (path === 'config') {
    shape = { $ref: `#/$defs/${CONFIG_DEF}` };
  } else if (known !== undefined) {
    shape = { ...known };
  } else if (node !== null && typeof node === 'object' && 'items' in node && !('value' in node)) {
    const isMap = node.items.length > 0 && node.items.every((i) => 'key' in i);
    if (!isMap) {
      throw new Error(
        `values.yaml: ${path} is a list or an empty map; describe it in SHAPES (scripts/lib/chart-schema.mjs)`,
      );
    }
    shape = objectShape(path, node);
  } else {
    const value = node?.value;
    if (typeof value === 'boolean') shape = { type: 'boolean' };
    else if (typeof value === 'string') shape = { type: 'string' };
    else if (Number.isInteger(value)) shape = { type: 'integer' };
    else if (typeof value === 'number') shape = { type: 'number' };
    else throw new Error(`values.yaml: ${path} has no type to infer; describe it in SHAPES`);
  }
  const description = describe(comment);
  return description === undefined ? shape : { description, ...shape };
}

/** An object of values.yaml: its keys, and no other. */
function objectShape(prefix, map) {
  const properties = {};
  map.items.forEach((pair, i) => {
    const key = String(pair.key.value);
    const path = prefix === '' ? key : `${prefix}.${key}`;
    // yaml hands the comment above a map's first key to the map itself.
    const comment = pair.key.commentBefore ?? (i === 0 ? map.commentBefore : undefined);
    properties[key] = shapeOf(path, pair.value, comment);
  });
  return { type: 'object', properties, additionalProperties: false };
}

/**
 * The text of values.schema.json: `valuesYaml` (values.yaml) gives the
 * shape, `rolegateSchemaText` (schema/rolegate.schema.json) the `config` key.
 */
export function chartSchemaText(valuesYaml, rolegateSchemaText) {
  const doc = parseDocument(valuesYaml);
  if (doc.errors.length > 0) throw new Error(`values.yaml: ${doc.errors.map(String).join('; ')}`);
  const top = objectShape('', doc.contents);
  for (const extra of Object.keys(SHAPES).filter((p) => !p.includes('.'))) {
    top.properties[extra] ??= shapeOf(extra, null, undefined);
  }
  // A SHAPES entry that names no value is a leftover of a removed key.
  const paths = new Set();
  const walk = (shape, prefix) => {
    for (const [k, v] of Object.entries(shape.properties ?? {})) {
      const p = prefix === '' ? k : `${prefix}.${k}`;
      paths.add(p);
      walk(v, p);
    }
  };
  walk(top, '');
  const stale = Object.keys(SHAPES).filter((p) => !paths.has(p));
  if (stale.length > 0)
    throw new Error(`SHAPES names no value of values.yaml: ${stale.join(', ')}`);

  const {
    $schema: _draft,
    $id: _id,
    ...config
  } = /** @type {Record<string, unknown>} */ (JSON.parse(rolegateSchemaText));
  void _draft;
  void _id;
  const schema = {
    $schema: DRAFT,
    title: 'rolegate Helm chart values',
    description:
      'Generated by `npm run schema` (scripts/write-chart-schema.mjs) from values.yaml and schema/rolegate.schema.json; do not edit.',
    ...top,
    $defs: { [CONFIG_DEF]: config },
  };
  return `${JSON.stringify(schema, null, 2)}\n`;
}
