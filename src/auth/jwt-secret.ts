import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../core/logger.ts';

export const jwtSecretFile = 'jwt-secret';

/**
 * The session signing secret: TRACEPULSE_JWT_SECRET when set, else a random one generated once and
 * kept in the data dir (mode 0600), so sessions survive restarts and every process on the data dir agrees.
 */
export function loadJwtSecret(options: { configured?: string; dataDir: string; logger: Logger }): string {
  if (options.configured) return options.configured;
  const path = join(options.dataDir, jwtSecretFile);
  try {
    // 'wx' fails when the file exists, so two processes starting at once keep one secret.
    writeFileSync(path, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
    options.logger.info('generated the session secret', { path });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  if ((statSync(path).mode & 0o077) !== 0) {
    chmodSync(path, 0o600);
    options.logger.warn('session secret file was readable by others; set to 0600', { path });
  }
  const secret = readFileSync(path, 'utf8').trim();
  if (secret.length < 32) throw new Error(`${path}: session secret is shorter than 32 characters`);
  return secret;
}
