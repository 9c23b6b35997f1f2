/**
 * Kafka's listener settings (`listeners`, `advertised.listeners`) as a single-node franz uses
 * them: a comma-separated list of NAME://HOST:PORT, where an empty HOST means every interface
 * and an IPv6 HOST stands in brackets. franz serves clients on one listener: the first whose
 * name is not a KRaft controller listener (`controller.listener.names`), so the `listeners`
 * line of a Kafka combined-mode server.properties works unchanged.
 */

export interface Listener {
  name: string;
  /** '' for every interface. */
  host: string;
  port: number;
}

/** HOST:PORT (HOST may be empty or [IPv6]); `what` names the setting in the error. */
export function splitHostPort(s: string, what: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  const portText = s.slice(i + 1);
  const port = Number(portText);
  if (i < 0 || !/^\d+$/.test(portText) || port > 65535) throw new Error(`${what} expects HOST:PORT, got "${s}"`);
  return { host: s.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port };
}

/** Parses a listener list; a bare HOST:PORT entry gets the name PLAINTEXT. */
export function parseListeners(value: string, what: string): Listener[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((entry) => {
      const m = /^([A-Za-z0-9_]+):\/\/(.*)$/.exec(entry);
      const name = m ? m[1]!.toUpperCase() : 'PLAINTEXT';
      return { name, ...splitHostPort(m ? m[2]! : entry, what) };
    });
}

/**
 * The listener franz serves clients on, and the address it advertises for it: the entry of
 * `advertised` with the same name, or null when there is none (the caller then advertises the
 * listener's own address). Returns the other client listeners too, which franz does not open
 * (one broker, one plaintext listener).
 */
export function chooseListener(
  listeners: string,
  advertised: string,
  controllerNames: string,
): { listen: Listener; advertise: { host: string; port: number } | null; unused: Listener[] } {
  const controllers = new Set(
    controllerNames
      .split(',')
      .map((s) => s.trim().toUpperCase())
      .filter((s) => s !== ''),
  );
  const candidates = parseListeners(listeners, 'listeners').filter((l) => !controllers.has(l.name));
  const listen = candidates[0];
  if (listen === undefined) throw new Error(`listeners has no listener for clients (all are in controller.listener.names): "${listeners}"`);
  const adv = parseListeners(advertised, 'advertised.listeners').find((l) => l.name === listen.name);
  return { listen, advertise: adv === undefined ? null : { host: adv.host, port: adv.port }, unused: candidates.slice(1) };
}

/** Whether `host` is an every-interface address, which clients cannot be sent to. */
export function isWildcard(host: string): boolean {
  return host === '' || host === '0.0.0.0' || host === '::';
}
