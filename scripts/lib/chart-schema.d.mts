// Types of chart-schema.mjs, for the test that holds values.schema.json to values.yaml.

/** Shapes of the values whose defaults say too little (lists, free-form maps, ranges), by dotted path. */
export const SHAPES: Readonly<Record<string, Readonly<Record<string, unknown>>>>;

/** The text of deploy/helm/rolegate/values.schema.json from values.yaml and schema/rolegate.schema.json. */
export function chartSchemaText(valuesYaml: string, rolegateSchemaText: string): string;
