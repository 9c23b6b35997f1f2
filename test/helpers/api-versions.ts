/**
 * Asks a broker which APIs it advertises, with a hand-written ApiVersions v0 request over a plain
 * socket (no franz code involved), so integration tests can tell what real clients will see.
 */
import { connect } from 'node:net';

export interface ApiRange {
  min: number;
  max: number;
}

/** Resolves with api key -> advertised version range. */
export function apiVersions(address: string, timeoutMs = 10_000): Promise<Map<number, ApiRange>> {
  const i = address.lastIndexOf(':');
  const socket = connect({ host: address.slice(0, i), port: Number(address.slice(i + 1)) });
  const clientId = Buffer.from('franz-test');
  // size, api key 18, version 0, correlation id, client id (int16 length + bytes); v0 has no body.
  const req = Buffer.alloc(4 + 2 + 2 + 4 + 2 + clientId.length);
  req.writeInt32BE(req.length - 4, 0);
  req.writeInt16BE(18, 4);
  req.writeInt16BE(0, 6);
  req.writeInt32BE(7, 8);
  req.writeInt16BE(clientId.length, 12);
  clientId.copy(req, 14);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => socket.destroy(new Error('ApiVersions: no answer')), timeoutMs);
    let buf = Buffer.alloc(0);
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 4 || buf.length < 4 + buf.readInt32BE(0)) return;
      clearTimeout(timer);
      socket.destroy();
      // correlation id, error code, [api key, min, max]
      const error = buf.readInt16BE(8);
      if (error !== 0) return reject(new Error(`ApiVersions error ${error}`));
      const n = buf.readInt32BE(10);
      const out = new Map<number, ApiRange>();
      for (let k = 0; k < n; k++) {
        const at = 14 + k * 6;
        out.set(buf.readInt16BE(at), { min: buf.readInt16BE(at + 2), max: buf.readInt16BE(at + 4) });
      }
      resolve(out);
    });
    socket.write(req);
  });
}
