// Writes the JSON Schemas of media/schemas/ from the zod request schemas (src/core/jsonSchemas.ts).
// Run it after changing a request schema; the unit suite fails while the files are stale.
//   node scripts/generate-schemas.mjs
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const temporary = mkdtempSync(join(tmpdir(), 'modelarts-schemas-'));
try {
  const outfile = join(temporary, 'jsonSchemas.cjs');
  await esbuild.build({ entryPoints: [join(root, 'src/core/jsonSchemas.ts')], outfile, bundle: true, platform: 'node', format: 'cjs', logLevel: 'warning' });
  const { GENERATED_SCHEMA_FILES, PACKAGE_JSON_LAUNCH_SCHEMA, formatJsonSchema, launchJsonSchema } = createRequire(import.meta.url)(outfile);
  for (const [file, generate] of Object.entries(GENERATED_SCHEMA_FILES)) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), formatJsonSchema(generate()));
    console.log(`[schemas] ${file}`);
  }
  // The launch.json attributes live inside package.json (debuggers[0].configurationAttributes.launch).
  const manifestFile = join(root, 'package.json');
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
  const parent = PACKAGE_JSON_LAUNCH_SCHEMA.slice(0, -1).reduce((node, key) => node[key], manifest);
  parent[PACKAGE_JSON_LAUNCH_SCHEMA.at(-1)] = launchJsonSchema();
  writeFileSync(manifestFile, JSON.stringify(manifest, null, 2) + '\n');
  console.log('[schemas] package.json debuggers[0].configurationAttributes.launch');
} finally {
  rmSync(temporary, { recursive: true, force: true });
}
