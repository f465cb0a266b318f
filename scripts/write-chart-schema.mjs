// `npm run schema` (after write-config-schema.mjs): writes
// deploy/helm/rolegate/values.schema.json from the chart's values.yaml and
// schema/rolegate.schema.json (scripts/lib/chart-schema.mjs). A unit test
// (test/unit/deploy/chart-schema.test.ts) fails when the committed file differs.
import { readFileSync, writeFileSync } from 'node:fs';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';
import { chartSchemaText } from './lib/chart-schema.mjs';

const read = (path) => readFileSync(new URL(path, import.meta.url), 'utf8');
const target = fileURLToPath(
  new URL('../deploy/helm/rolegate/values.schema.json', import.meta.url),
);
writeFileSync(
  target,
  chartSchemaText(
    read('../deploy/helm/rolegate/values.yaml'),
    read('../schema/rolegate.schema.json'),
  ),
);
process.stdout.write(`wrote ${target}\n`);
