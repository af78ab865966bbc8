import { describe, expect, test } from 'bun:test';
import { envelopeOf, sensitiveValues } from '../../src/deliver/envelope.ts';
import { createRedactor, REDACTED } from '../../src/deliver/redact.ts';
import { ID_TAG, sampleEvent, sampleReport, VIN } from './support/fixtures.ts';

const fields = ['userId', 'idTag', 'cardId', 'card_id', 'vin', 'VIN', 'emaid', 'contractId'];
const redact = createRedactor(fields);

describe('redaction before anything leaves the device', () => {
  test('detail fields are blanked, and their values wherever they appear in text', () => {
    const env = envelopeOf({ kind: 'created', report: sampleReport(), event: sampleEvent() }, redact);
    expect(env.event?.details).toEqual({ connector: '2', idTag: REDACTED, vin: REDACTED, currentA: '38.2' });
    const text = JSON.stringify(env);
    expect(text).not.toContain(ID_TAG);
    expect(text).not.toContain(VIN);
    expect(env.event?.message).toBe(`Soft over-current on connector 2 (idTag ${REDACTED})`);
  });

  test('key=value, key: value, JSON and "key <id>" forms in free text', () => {
    expect(redact('OCPP Authorize {"idTag":"DEADBEEF01","status":"Accepted"}')).toBe(
      `OCPP Authorize {"idTag":"${REDACTED}","status":"Accepted"}`,
    );
    expect(redact('session start emaid=DE-8EO-C12345678-9 contractId: ABC123')).toBe(
      `session start emaid=${REDACTED} contractId: ${REDACTED}`,
    );
    expect(redact('RFID card_id 04:A2:B3:C4 presented')).toBe(`RFID card_id ${REDACTED} presented`);
    // A field name followed by an ordinary word is left alone.
    expect(redact('idTag accepted by CSMS')).toBe('idTag accepted by CSMS');
  });

  test('a revision carries no event: values come from the stored events of its session', () => {
    const event = sampleEvent();
    const report = { ...sampleReport(), eventId: event.id, correlationId: event.correlationId };
    const values = sensitiveValues({ kind: 'revised', report }, fields, {
      event: (id) => (id === event.id ? event : null),
      events: () => [sampleEvent({ details: { userId: 'fleet-user-4711' } })],
    });
    expect(values).toEqual(expect.arrayContaining([ID_TAG, VIN, 'fleet-user-4711']));
    const env = envelopeOf({ kind: 'revised', report }, redact, values);
    expect(JSON.stringify(env)).not.toContain(ID_TAG);
  });

  test('short values are not searched for in text (would blank unrelated numbers)', () => {
    const r = createRedactor(['userId']);
    expect(r({ details: { userId: '42' }, text: 'current 42 A' })).toEqual({
      details: { userId: REDACTED },
      text: 'current 42 A',
    });
  });

  test('no fields configured: values pass unchanged', () => {
    const none = createRedactor([]);
    const env = { details: { idTag: ID_TAG } };
    expect(none(env)).toBe(env);
  });
});
