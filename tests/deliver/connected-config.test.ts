import { describe, expect, test } from 'bun:test';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import { checkConnectedConfig } from '../../src/app/sinks.ts';

describe('connected-mode settings', () => {
  test('defaults: nothing configured, the documented redaction list and outbox bounds', () => {
    const c = loadConfig({});
    expect(checkConnectedConfig(c)).toEqual([]);
    expect(c.SLACK_CHANNEL).toBe('#debug');
    expect(c.SLACK_API_URL).toBe('https://slack.com/api/');
    expect(c.TRACEPULSE_REDACT_FIELDS).toEqual([
      'userId',
      'idTag',
      'cardId',
      'card_id',
      'vin',
      'VIN',
      'emaid',
      'contractId',
    ]);
    expect(c.TRACEPULSE_OUTBOX_MAX_ATTEMPTS).toBe(8);
    expect(c.TRACEPULSE_LLM_HOURLY_BUDGET).toBe(20);
  });

  test('bad values are named, all at once', () => {
    try {
      loadConfig({
        SLACK_API_URL: 'https://slack.example.com/api',
        SMTP_URL: 'http://mail.example.com',
        TRACEPULSE_EMAIL_TO: 'oncall@example.com,not-an-address',
        TRACEPULSE_OUTBOX_MAX_ATTEMPTS: '0',
      });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const text = (err as ConfigError).problems.join('\n');
      expect(text).toContain("SLACK_API_URL: must end with '/'");
      expect(text).toContain('SMTP_URL');
      expect(text).toContain('TRACEPULSE_EMAIL_TO.1');
      expect(text).toContain('TRACEPULSE_OUTBOX_MAX_ATTEMPTS');
    }
  });

  test('settings that only work together are checked together', () => {
    expect(checkConnectedConfig(loadConfig({ SMTP_URL: 'smtp://127.0.0.1:2525' }))).toEqual([
      'TRACEPULSE_EMAIL_TO: required when SMTP_URL is set',
    ]);
    expect(
      checkConnectedConfig(
        loadConfig({ TRACEPULSE_OUTBOX_BACKOFF_MS: '5000', TRACEPULSE_OUTBOX_MAX_BACKOFF_MS: '1000' }),
      ),
    ).toEqual(['TRACEPULSE_OUTBOX_MAX_BACKOFF_MS: must be at least TRACEPULSE_OUTBOX_BACKOFF_MS']);
  });
});
