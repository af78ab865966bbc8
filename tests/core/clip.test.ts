// Issue 15 (first-user friction): cut text says so, and is not cut inside a value.
import { expect, test } from 'bun:test';
import { clip } from '../../src/core/clip.ts';

test('a cut value gets an ellipsis at a word boundary instead of reading as another value', () => {
  const change = "Setup: set the modem's default gateway to 192.168.50.1 for the LTE failover";
  const cut = clip(change, 60);
  expect(cut.length).toBeLessThanOrEqual(60);
  expect(cut.endsWith('…')).toBe(true);
  expect(cut).toBe("Setup: set the modem's default gateway to 192.168.50.1 for…");
  expect(clip(change, 50)).toBe("Setup: set the modem's default gateway to…");
  expect(clip('short', 60)).toBe('short');
  // One long word: cut inside it, but still marked.
  expect(clip('x'.repeat(100), 10)).toBe(`${'x'.repeat(9)}…`);
});
