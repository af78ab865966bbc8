// The baseline for bench-ingest: a bare Bun.serve answering "ok".
const server = Bun.serve({
  port: Number(process.env.PORT),
  hostname: '127.0.0.1',
  fetch: () => new Response('ok'),
});
process.on('SIGTERM', () => {
  server.stop(true);
  process.exit(0);
});
