/**
 * The web console at `/`: the static files the build bundles into `dist/console/` (index.html, the
 * esbuild bundle of src/console/, its stylesheet), read once when the listener starts and served
 * from memory. The console itself only calls the REST v3 routes and the topic streams, like any
 * other client of this listener.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HttpServer } from './http-server.js';

/** Where the build puts the console (dist/console, beside dist/src). */
export const CONSOLE_DIR = fileURLToPath(new URL('../../console/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
};

/**
 * The console loads nothing from elsewhere and talks only to this listener (connect-src 'self'
 * covers its WebSocket), and no other site may frame it (its Delete button could be clickjacked).
 */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
};

export function registerConsole(server: HttpServer, dir = CONSOLE_DIR): void {
  if (!existsSync(join(dir, 'index.html'))) {
    server.route('get', '/', ({ x }) => x.json(404, { error_code: 404, message: `no console built in ${dir} (npm run build:ts)` }));
    return;
  }
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (type === undefined) continue;
    const body = readFileSync(join(dir, name));
    const serve = (path: string) => server.route('get', path, ({ x }) => x.send(200, type, body, SECURITY_HEADERS));
    serve(`/${name}`);
    if (name === 'index.html') serve('/');
  }
}
