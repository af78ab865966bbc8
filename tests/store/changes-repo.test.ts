import type { Database } from 'bun:sqlite';
import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { type ChangeRecord, createChangesRepo, maxChangesPerWindow } from '../../src/store/changes-repo.ts';
import { openDatabase } from '../../src/store/db.ts';
import { applyRetention } from '../../src/store/retention.ts';

const t = (iso: string) => Date.parse(iso);
const repo = 'EVerest/everest-core';

const firmwareFlash: ChangeRecord = {
  id: 'fw-phyverso-2026-11-24',
  service: 'bsp',
  kind: 'firmware',
  timestamp: t('2026-11-24T22:15:00Z'),
  summary: 'PhyVerso MCU firmware 1.4.2 flashed (CP state debounce)',
  author: 'ota-bot',
};
const configPush: ChangeRecord = {
  id: 'cfg-ocpp-2026-11-24T06',
  service: 'ocpp',
  kind: 'config',
  timestamp: t('2026-11-24T06:00:00Z'),
  summary: 'OCPP ConnectionTimeOut 60 -> 30, LocalPreAuthorize false -> true',
  files: ['config/config-CB-EVAL-DC.yaml'],
};

let db: Database;
let changes: ReturnType<typeof createChangesRepo>;
beforeEach(() => {
  db = openDatabase(':memory:');
  changes = createChangesRepo(db);
});
afterEach(() => db.close());

describe('changes repository', () => {
  test('a record is stored once; the same id again changes nothing and is reported as duplicate', () => {
    expect(changes.record([firmwareFlash, configPush], 1)).toEqual([
      { id: firmwareFlash.id, duplicate: false },
      { id: configPush.id, duplicate: false },
    ]);
    const resent = { ...firmwareFlash, summary: 'something else', timestamp: t('2026-11-01T00:00:00Z') };
    expect(changes.record([resent], 2)).toEqual([{ id: firmwareFlash.id, duplicate: true }]);
    expect(changes.get(firmwareFlash.id)).toEqual({
      id: firmwareFlash.id,
      sha: null,
      service: 'bsp',
      kind: 'firmware',
      timestamp: t('2026-11-24T22:15:00Z'),
      summary: 'PhyVerso MCU firmware 1.4.2 flashed (CP state debounce)',
      files: [],
      diff: null,
      author: 'ota-bot',
      url: null,
      repo: null,
    });
    expect(changes.count()).toBe(2);
  });

  test('changesBetween is inclusive, oldest first, and keeps the newest when a window holds too many', () => {
    changes.record([firmwareFlash, configPush], 1);
    expect(changes.changesBetween(configPush.timestamp, firmwareFlash.timestamp).map((c) => c.id)).toEqual([
      configPush.id,
      firmwareFlash.id,
    ]);
    expect(changes.changesBetween(0, configPush.timestamp - 1)).toEqual([]);

    const base = t('2026-11-20T00:00:00Z');
    const many: ChangeRecord[] = Array.from({ length: maxChangesPerWindow + 100 }, (_, i) => ({
      id: `cfg-${i}`,
      service: 'energy_manager',
      kind: 'config',
      timestamp: base + i * 1000,
      summary: `fuse_limit_A update ${i}`,
    }));
    changes.record(many, 1);
    const got = changes.changesBetween(base, base + 10 * 86_400_000);
    expect(got).toHaveLength(maxChangesPerWindow);
    expect(got[0]!.timestamp).toBeLessThan(got[1]!.timestamp);
    expect(got.at(-1)!.id).toBe(firmwareFlash.id);
  });

  test('changesBetween and the service filter are answered from indexes', () => {
    const plan = (sql: string) =>
      db
        .query<{ detail: string }, []>(`EXPLAIN QUERY PLAN ${sql}`)
        .all()
        .map((r) => r.detail)
        .join(' | ');
    expect(plan('SELECT * FROM changes WHERE ts >= 1 AND ts <= 2 ORDER BY ts DESC LIMIT 10')).toContain(
      'USING INDEX changes_ts',
    );
    expect(
      plan("SELECT * FROM change_services WHERE service = 'bsp' AND ts >= 1 ORDER BY ts DESC"),
    ).toContain('change_services_service');
  });

  test('a commit seen in a list is completed once by its detail and never rewritten after', () => {
    const sha = '3f9c2a1b7d4e5f60718293a4b5c6d7e8f9012345';
    const base = {
      repo,
      sha,
      timestamp: t('2026-11-24T16:12:09Z'),
      summary: 'EvseManager: pause at 0 A when the power budget expires',
      author: 'Cornelius Claussen',
      url: `https://github.com/${repo}/commit/${sha}`,
    };
    expect(changes.saveCommits([{ ...base, services: ['evse_manager_1'] }], 1)).toBe(1);
    expect(changes.commitState(repo, [sha, 'ffff'])).toEqual(new Map([[sha, 'summary']]));
    expect(changes.missingDetail(0, 10)).toEqual([{ repo, sha }]);

    const diff =
      'diff --git a/modules/EVSE/EvseManager/Charger.cpp b/modules/EVSE/EvseManager/Charger.cpp\n@@ -1880,9 +1880,11 @@ void Charger::run_state_machine() {\n';
    const detail = { files: ['modules/EVSE/EvseManager/Charger.cpp'], diff };
    expect(changes.saveCommits([{ ...base, detail, services: ['evse_manager_1'] }], 2)).toBe(1);
    expect(changes.commitState(repo, [sha]).get(sha)).toBe('detail');
    expect(changes.missingDetail(0, 10)).toEqual([]);
    expect(changes.saveCommits([{ ...base, detail: { files: ['x'], diff: 'y' }, services: [] }], 3)).toBe(0);
    expect(changes.get(`${repo}@${sha}`)).toMatchObject({
      kind: 'commit',
      sha,
      repo,
      files: detail.files,
      diff,
    });
  });

  test('list: newest first, by service (records by name, commits by mapped files), kind and time', () => {
    changes.record([firmwareFlash, configPush], 1);
    changes.saveCommits(
      [
        {
          repo,
          sha: 'a'.repeat(40),
          timestamp: t('2026-11-23T10:00:00Z'),
          summary: 'PhyVersoBSP: report CP state F only after 3 consecutive reads',
          author: null,
          url: null,
          detail: {
            files: ['modules/HardwareDrivers/EVSE/PhyVersoBSP/connector_1/evse_board_supportImpl.cpp'],
            diff: null,
          },
          services: ['bsp'],
        },
      ],
      1,
    );
    expect(changes.list().map((c) => c.id)).toEqual([
      firmwareFlash.id,
      configPush.id,
      `${repo}@${'a'.repeat(40)}`,
    ]);
    expect(changes.list({ service: 'bsp' }).map((c) => c.kind)).toEqual(['firmware', 'commit']);
    expect(changes.list({ kind: 'config' }).map((c) => c.id)).toEqual([configPush.id]);
    expect(
      changes.list({ since: t('2026-11-24T00:00:00Z'), until: t('2026-11-24T12:00:00Z') }).map((c) => c.id),
    ).toEqual([configPush.id]);
    expect(changes.list({ limit: 1 })).toHaveLength(1);
  });

  test('retention drops old changes with their service rows', () => {
    changes.record([configPush, firmwareFlash], 1);
    const r = applyRetention(db, { maxAgeMs: 86_400_000, maxBytes: 1 << 30 }, t('2026-11-25T12:00:00Z'));
    expect(r.deletedByAge).toBe(1);
    expect(changes.list().map((c) => c.id)).toEqual([firmwareFlash.id]);
    expect(db.query('SELECT COUNT(*) AS n FROM change_services').get()).toEqual({ n: 1 });
  });
});
