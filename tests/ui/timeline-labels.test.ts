// Issue 15 (first-user friction): a change days before the event reads as days, with its date.
import { expect, test } from 'bun:test';
import { relativeLabel, timelineTime } from '../../src/ui/views/thread.tsx';

const at = Date.parse('2026-11-25T08:00:00Z');

test('offsets from the event read in s, min, h and d', () => {
  expect(relativeLabel(0)).toBe('T');
  expect(relativeLabel(-12_000)).toBe('T-12s');
  expect(relativeLabel(95_000)).toBe('T+1m35s');
  expect(relativeLabel(-2 * 3_600_000 - 5 * 60_000)).toBe('T-2h05m');
  expect(relativeLabel(-259_200_000)).toBe('T-3d');
  expect(relativeLabel(-(3 * 86_400_000 + 4 * 3_600_000))).toBe('T-3d4h');
});

test('a time on another day than the event shows its date', () => {
  expect(timelineTime(at - 30_000, at)).toBe('07:59:30');
  expect(timelineTime(at - 259_200_000, at)).toBe('2026-11-22 08:00:00');
});
