/**
 * Builds the web console into dist/console/: src/console/app.ts and what it imports bundled into one
 * ES module by esbuild (no CDN, nothing fetched at run time), index.html and style.css copied. Run
 * by `npm run build:ts` after tsc; the HTTP listener serves the result (src/http/console-routes.ts).
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const src = 'src/console';
const out = 'dist/console';
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(src, 'app.ts')],
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  outfile: join(out, 'app.js'),
  logLevel: 'warning',
});
for (const f of ['index.html', 'style.css']) copyFileSync(join(src, f), join(out, f));
