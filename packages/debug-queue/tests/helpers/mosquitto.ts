import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './tracepulse.ts';

export interface PrivateBroker {
  port: number;
  url: string;
  start(): Promise<void>;
  /** SIGTERM: mosquitto saves its persistence file (sessions, queued QoS 1 messages) on the way out. */
  stop(): Promise<void>;
  dispose(): Promise<void>;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * A second, real Mosquitto on its own port, for tests that must take the broker away (the shared
 * one on 1883 is never stopped). Persistence is on, like a gateway's, so a subscriber's session
 * survives the broker restart.
 */
export async function privateBroker(): Promise<PrivateBroker> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'dq-mosquitto-'));
  // Started as root, mosquitto drops to user "mosquitto": it must be able to write its persistence file here.
  chmodSync(dir, 0o777);
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence true',
      `persistence_location ${dir}/`,
      'autosave_interval 1',
      'log_dest none',
      '',
    ].join('\n'),
  );
  let child: ChildProcess | undefined;
  const stop = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
    await waitFor('the private broker port to close', async () => !(await portOpen(port)));
  };
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    start: async () => {
      child = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
      await waitFor(`mosquitto on ${port}`, () => portOpen(port));
    },
    stop,
    dispose: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
