// The ARM64 executable that Dockerfile.arm64 copies and gateways run, executed under qemu user
// emulation: it starts, answers /healthz, stores and returns an event in SQLite, passes the
// image's health check, and stops cleanly on SIGTERM. Emulation is slow: expect seconds.
import { afterAll, describe, expect, test } from 'bun:test';
import { existsSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import pkg from '../../package.json' with { type: 'json' };
import {
  compiledBinary,
  createProcessGroup,
  createTempDirs,
  have,
  repoRoot,
  startServer,
  stationEvent,
} from './support.ts';

const sysroot = '/usr/aarch64-linux-gnu';
const canEmulate = have('qemu-aarch64-static') && existsSync(join(sysroot, 'lib/ld-linux-aarch64.so.1'));
if (!canEmulate) {
  console.warn(
    'SKIP arm64 tests: needs qemu-aarch64-static and an arm64 libc (apt-get install -y qemu-user-static libc6-arm64-cross)',
  );
}
const qemu = ['qemu-aarch64-static', '-L', sysroot];

const temp = createTempDirs('tp-qemu');
const procs = createProcessGroup();
afterAll(async () => {
  await procs.killAll();
  temp.cleanup();
});

describe.skipIf(!canEmulate)('ARM64 executable under qemu', () => {
  test('is an AArch64 ELF executable', async () => {
    const exe = await compiledBinary('arm64');
    const header = Buffer.alloc(20);
    const fd = openSync(exe, 'r');
    readSync(fd, header, 0, 20, 0);
    expect(header.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(header.readUInt16LE(18)).toBe(0xb7); // e_machine EM_AARCH64
  }, 30_000);

  test('prints its version', async () => {
    const exe = await compiledBinary('arm64');
    const p = procs.spawn([...qemu, exe, '--version']);
    expect(await p.exited).toBe(0);
    expect((await new Response(p.stdout).text()).trim()).toBe(pkg.version);
  }, 30_000);

  test('serves /healthz, stores an event, passes the image health check and stops on SIGTERM', async () => {
    const exe = await compiledBinary('arm64');
    const dataDir = temp.make();
    const server = await startServer(procs, [...qemu, exe], { dataDir, readyTimeoutMs: 30_000 });

    const event = stationEvent(1, 'tx-qemu-0001');
    const posted = await fetch(`${server.url}/webhook/event`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(event),
    });
    expect(posted.status).toBe(200);
    expect(await posted.json()).toMatchObject({ status: 'processed', eventId: event.id });
    const listed = (await (await fetch(`${server.url}/api/events?correlationId=tx-qemu-0001`)).json()) as {
      events: Array<{ id: string; errorCode: string }>;
    };
    expect(listed.events.map((e) => [e.id, e.errorCode])).toEqual([[event.id, 'MREC11CableCheckFault']]);

    const health = Bun.spawn(['bash', join(repoRoot, 'edge/healthcheck.sh')], {
      env: { PATH: process.env.PATH, TRACEPULSE_PORT: String(server.port) },
    });
    expect(await health.exited).toBe(0);

    server.proc.kill('SIGTERM');
    const code = await Promise.race([server.proc.exited, Bun.sleep(15_000).then(() => 'timeout')]);
    expect(code, server.output()).toBe(0);
    expect(existsSync(join(dataDir, 'tracepulse.db'))).toBe(true);
  }, 60_000);
});
