import { afterEach, describe, expect, test } from 'bun:test';
import { rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createManualClock } from '../../src/core/clock.ts';
import { createMemoryLogger } from '../../src/core/logger.ts';
import { createSystemMapSource, type SystemMapSource } from '../../src/sources/system-map-source.ts';
import { openDatabase } from '../../src/store/db.ts';
import { tempDir } from '../helpers/test-app.ts';

const mapV1 =
  'triggers: [SESSION_DROP]\nservices:\n  evse_manager: { depends_on: [powermeter] }\n  powermeter: {}\n';
const mapV2 = `${mapV1}  slac: {}\n`;

let dir = '';
let source: SystemMapSource | null = null;
afterEach(() => {
  source?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const clock = createManualClock();
function open(file: string, logger = createMemoryLogger()) {
  const db = openDatabase(join(dir, 'tracepulse.db'));
  source = createSystemMapSource({ path: file, db, logger, scheduler: clock, watchIntervalMs: 1000 });
  return { db, source, logger };
}

describe('system map source', () => {
  test('reloads when the file changes; a syntax error keeps the last good map and is reported', async () => {
    dir = tempDir();
    const file = join(dir, 'system-map.yaml');
    writeFileSync(file, mapV1);
    const { source, logger } = open(file);
    expect(source.current().graph.services.size).toBe(2);

    // Each write gets its own mtime (set, not waited for: mtimes are coarse on some file systems).
    const t = Date.now() / 1000;
    writeFileSync(file, mapV2);
    utimesSync(file, t + 10, t + 10);
    expect(source.current().graph.services.size).toBe(2);
    clock.advance(1000);
    expect(source.current().graph.services.size).toBe(3);

    writeFileSync(file, 'services:\n  slac: {depends_on: [\n');
    utimesSync(file, t + 20, t + 20);
    clock.advance(1000);
    expect(source.current().lastError).not.toBeNull();
    expect(source.current().graph.services.size).toBe(3);
    expect(source.current().lastError?.problems[0]?.message).toMatch(/YAML syntax error/);
    expect(logger.lines.some((l) => l.includes('keeping the last good map'))).toBe(true);
  });

  test('a map PUT over the API is stored and wins over an older file after a restart', () => {
    dir = tempDir();
    const file = join(dir, 'system-map.yaml');
    writeFileSync(file, mapV1);
    const first = open(file);
    expect(first.source.put(mapV2)).toMatchObject({ ok: true });
    expect(first.source.put('services:\n  a: {depends_on: [b]}\n')).toMatchObject({ ok: false });
    first.source.stop();
    first.db.close();

    const second = open(file);
    expect(second.source.current()).toMatchObject({ origin: 'api' });
    expect(second.source.current().graph.services.size).toBe(3);
  });

  test('a missing file starts with an empty map and says so', () => {
    dir = tempDir();
    const { source, logger } = open(join(dir, 'nope.yaml'));
    expect(source.current().origin).toBe('empty');
    expect(logger.lines.some((l) => l.includes('no system map file'))).toBe(true);
  });
});
