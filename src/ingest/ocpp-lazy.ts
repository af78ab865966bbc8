import { Hono } from 'hono';
import type { OcppIngest } from './ocpp.ts';

/**
 * The OCPP ingest loaded on its first frame, so a gateway that never receives one does not carry
 * its code and schemas (about 1 MB of idle RSS in the compiled binary).
 */
export function createLazyOcppIngest(load: () => Promise<OcppIngest>): OcppIngest {
  let loaded: Promise<OcppIngest> | null = null;
  let ready: OcppIngest | null = null;
  const get = () => {
    loaded ??= load().then((o) => {
      ready = o;
      return o;
    });
    return loaded;
  };
  const routes = new Hono();
  routes.post('/api/ocpp/:chargePointId', async (c) => (await get()).routes.fetch(c.req.raw));
  return {
    routes,
    mqtt: async (cp, topic, payload) => (await get()).mqtt(cp, topic, payload),
    stop: () => ready?.stop(),
  };
}
