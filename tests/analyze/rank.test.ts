import { describe, expect, test } from 'bun:test';
import { type run, twcFailure } from './fixtures.ts';

// What a report shows as an item's weight is what it counted: the UI's evidence list and the
// learning adjustments read these numbers.
describe('evidence weights', () => {
  const changeOf = (changedService: string) =>
    twcFailure(
      'slave TWC 0x7a2f heartbeat parse error: unexpected frame length 14',
      'slave heartbeat timeout 30 s -> 10 s',
      {
        changedService,
      },
    );
  const weightOf = (r: ReturnType<typeof run>, service: string) =>
    r.hypotheses
      .find((h) => h.service === service)
      ?.evidence.find((e) => e.ruleId === 'change.recent' && e.changeId === 'twc-cfg')?.weight;

  test("the failing service's own change record shows the 0.7 it counted, not its full weight", () => {
    const own = weightOf(changeOf('twcmanager'), 'twcmanager')!;
    const dependency = weightOf(changeOf('rs485_link'), 'rs485_link')!;
    expect(own).toBeCloseTo(dependency * 0.7, 2);
  });
});
