/** One push as Loki received it. */
export interface LokiPush {
  headers: Record<string, string>;
  streams: Array<{ stream: Record<string, string>; values: Array<[string, string]> }>;
}

/**
 * A local server speaking Loki's push API (POST /loki/api/v1/push, JSON, 204 on success) that
 * can be told to fail with 503 until further notice.
 */
export function fakeLoki() {
  const pushes: LokiPush[] = [];
  let failing = false;
  let refused = 0;
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      const url = new URL(req.url);
      if (req.method !== 'POST' || url.pathname !== '/loki/api/v1/push')
        return new Response('not found', { status: 404 });
      if (req.headers.get('content-type') !== 'application/json')
        return new Response('unsupported', { status: 415 });
      if (failing) {
        refused++;
        return new Response('Ingester not ready', { status: 503 });
      }
      const body = (await req.json()) as { streams: LokiPush['streams'] };
      const headers: Record<string, string> = {};
      req.headers.forEach((value, key) => {
        headers[key] = value;
      });
      pushes.push({ headers, streams: body.streams });
      return new Response(null, { status: 204 });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    pushes,
    refused: () => refused,
    setFailing: (v: boolean) => {
      failing = v;
    },
    /** Every line received, flattened. */
    lines: () =>
      pushes.flatMap((p) =>
        p.streams.flatMap((s) => s.values.map(([ts, line]) => ({ labels: s.stream, ts, line }))),
      ),
    stop: () => server.stop(true),
  };
}
