// edge/tracepulse.env.example documents every setting of the config schema, names no setting
// that does not exist, and is valid as shipped (it is what install.sh puts on a gateway).
import { describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configSchema, loadConfig } from '../../src/config/config.ts';
import { repoRoot } from './support.ts';

const text = readFileSync(join(repoRoot, 'edge/tracepulse.env.example'), 'utf8');
const lines = text.split('\n');
/** Variables set by the example (uncommented) and shown commented out as `#NAME=value`. */
const active = lines.filter((l) => /^[A-Z][A-Z0-9_]*=/.test(l));
const documented = lines.map((l) => /^#?([A-Z][A-Z0-9_]*)=/.exec(l)?.[1]).filter((n): n is string => !!n);
const schemaKeys = Object.keys(configSchema.shape);

describe('edge/tracepulse.env.example', () => {
  test('shows every variable of the config schema', () => {
    expect(schemaKeys.filter((k) => !documented.includes(k))).toEqual([]);
  });

  test('names no variable the schema does not know (no typos)', () => {
    expect(documented.filter((k) => !schemaKeys.includes(k))).toEqual([]);
  });

  test('shows each variable once', () => {
    expect(documented.filter((k, i) => documented.indexOf(k) !== i)).toEqual([]);
  });

  test('is valid as shipped, with the values the systemd unit adds', () => {
    const env = Object.fromEntries(
      active.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const),
    );
    expect(() =>
      loadConfig({
        ...env,
        TRACEPULSE_DATA_DIR: '/var/lib/tracepulse',
        TRACEPULSE_SYSTEM_MAP: '/etc/tracepulse/system-map.yaml',
      }),
    ).not.toThrow();
  });

  test('every commented-out example value is itself valid', () => {
    const problems: string[] = [];
    for (const l of lines) {
      const m = /^#([A-Z][A-Z0-9_]*)=(.+)$/.exec(l);
      if (!m) continue;
      try {
        loadConfig({ [m[1]!]: m[2]! });
      } catch (err) {
        problems.push(`${l}: ${(err as Error).message}`);
      }
    }
    expect(problems).toEqual([]);
  });

  test('uses only the systemd EnvironmentFile syntax that docker --env-file reads the same way', () => {
    for (const l of lines) {
      if (l === '' || l.startsWith('#')) continue;
      // No quotes, no `export`, no spaces around "=": both readers then agree on the value.
      expect(l).toMatch(/^[A-Z][A-Z0-9_]*=([^"'\s]([^"']*[^"'\s])?)?$/);
    }
  });
});
