import type { DebugEvent } from '../../src/core/event.ts';
import type { Report } from '../../src/core/report.ts';
import { createUserStore } from '../../src/store/user-store.ts';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exampleMap, type TestApp, tempDir } from '../helpers/test-app.ts';
import { event as fixtureEvent, report as fixtureReport } from './fixtures.ts';

export const password = 'correct horse battery';

/**
 * The example map without its evse_manager_1 -> ocpp edge: the map of a station whose map misses
 * it, for the "Add to map" cascade (an OCPP_DISCONNECT, then a SESSION_DROP on evse_manager_1).
 */
export function mapWithoutOcppEdge(): string {
  const yaml = readFileSync(exampleMap, 'utf8');
  const edited = yaml.replace(
    'persistent_store, energy_manager, ocpp, mqtt_broker]',
    'persistent_store, energy_manager, mqtt_broker]',
  );
  if (edited === yaml)
    throw new Error('the example map no longer has the evse_manager_1 -> ocpp edge this expects');
  const file = join(tempDir('tp-map-no-ocpp-'), 'system-map.yaml');
  writeFileSync(file, edited);
  return file;
}

/** Adds a user straight into the app's store. */
export const addUser = (app: TestApp, name: string, role: 'viewer' | 'engineer' | 'admin') =>
  createUserStore(app.ctx.db).add(name, password, role, app.ctx.clock.now() - 60_000);

/** Logs in through the form like a browser on this origin; returns the Cookie header value. */
export async function login(app: TestApp, name: string, pw = password): Promise<string> {
  const r = await form(app, '/chat/login', { name, password: pw, next: '/chat' });
  if (r.status !== 303) throw new Error(`login failed: ${r.status}`);
  return r.headers.get('set-cookie')!.split(';')[0]!;
}

/** A same-origin urlencoded form post, without following redirects. */
export const form = (
  app: TestApp,
  path: string,
  fields: Record<string, string>,
  cookie = '',
  origin = app.url,
) =>
  fetch(`${app.url}${path}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { origin, cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });

export const get = (app: TestApp, path: string, cookie = '') =>
  fetch(`${app.url}${path}`, { redirect: 'manual', headers: { cookie } });

/** The CSRF token of the page's forms. */
export const csrfOf = (html: string): string => /name="_csrf" value="([^"]+)"/.exec(html)![1]!;

/** Stores the fixture report (and its event, low priority so no analysis runs) without the pipeline. */
export async function storeReport(
  app: TestApp,
  over: Partial<Report> = {},
  eventOver: Partial<DebugEvent> = {},
): Promise<Report> {
  const id = over.id ?? `rep-${Bun.randomUUIDv7()}`;
  const event: DebugEvent = {
    ...fixtureEvent,
    id: `evt-${id}`,
    priority: 'low',
    timestamp: app.ctx.clock.now(),
    ...eventOver,
  };
  await app.ctx.writer.writeEvent(event);
  const { incidentId: _i, latencyMs: _l, revisions: _r, ...rest } = fixtureReport;
  return app.ctx.reports.store({
    report: { ...rest, id, eventId: event.id, ...over },
    event,
    resolvedService: 'evse_manager_1',
    stormWindowMs: 0,
    latencyMs: () => 12,
  });
}
