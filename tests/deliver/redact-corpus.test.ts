// Issue 15: the planted-identifier corpus through the redactor used for every outbound payload.
import { describe, expect, test } from 'bun:test';
import { loadConfig } from '../../src/config/config.ts';
import { createRedactor, looksLikeVin, REDACTED } from '../../src/deliver/redact.ts';
import { planted, plantedEvent, plantedLogs, plantedValues } from './support/planted.ts';

const redact = createRedactor(loadConfig({}).TRACEPULSE_REDACT_FIELDS);

describe('redaction of the planted identifiers, with the default fields', () => {
  test('none of them is left in the event or its log lines', () => {
    const out = JSON.stringify(
      redact({ event: plantedEvent('txn-planted'), logs: plantedLogs('txn-planted') }),
    );
    const leaked = plantedValues.filter((v) => out.includes(v));
    expect(leaked).toEqual([]);
  });
  test('keys match without case or separators, nested OCPP 2.0.1 idToken objects included', () => {
    expect(
      redact({
        IDTAG: 'AB12CD34',
        id_token: { idToken: 'CAFE0123', type: 'ISO14443' },
        Password: 'x1y2z3w4',
      }),
    ).toEqual({ IDTAG: REDACTED, id_token: { idToken: REDACTED, type: 'ISO14443' }, Password: REDACTED });
  });
  test('ordinary station text is left alone', () => {
    const text =
      'EvseManager: connector 2 MREC4OverCurrentFailure at 38.2 A; commit 3f9a2c1 by U0EVSECORE1; tag v2.4.0; card reader ok';
    expect(redact(text)).toBe(text);
  });
  test('VINs by pattern: check digit, or a European serial; not hashes or words', () => {
    expect(looksLikeVin(planted.vinProse)).toBe(true);
    expect(looksLikeVin(planted.vinEurope)).toBe(true);
    expect(looksLikeVin('1M8GDM9A1KP042788')).toBe(false);
    expect(looksLikeVin('ABCDEFGHJKLMNPRST')).toBe(false);
  });
});
