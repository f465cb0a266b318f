// `npm run schema` (after `npm run build`): writes schema/rolegate.schema.json
// from the config schema the loader validates with. A unit test
// (test/unit/config/json-schema.test.ts) fails when the committed file differs.
import { writeFileSync } from 'node:fs';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';
import { rolegateJsonSchemaText } from '../dist/src/config/json-schema.js';

const target = fileURLToPath(new URL('../schema/rolegate.schema.json', import.meta.url));
writeFileSync(target, rolegateJsonSchemaText());
process.stdout.write(`wrote ${target}\n`);
