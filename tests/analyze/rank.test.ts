import { describe, expect, test } from 'bun:test';
import { change, graphOf, log, MIN, run, trigger } from './fixtures.ts';

// What a report shows as an item's weight is what it counted: the UI's evidence list and the
// learning adjustments read these numbers.
describe('evidence weights', () => {
  const site = graphOf(`
services:
  twcmanager:
    depends_on: [rs485_link]
  rs485_link:
    description: RS485 pair from the Pi to the Gen2 wall connector
`);
  const changeOf = (service: string) =>
    run({
      graph: site,
      event: trigger({
        service: 'twcmanager',
        eventType: 'CHARGER_LOST',
        errorCode: 'NoHeartbeat',
        correlationId: null,
      }),
      windowMs: 30 * MIN,
      logs: [
        log('twcmanager', 'error', 'slave TWC 0x7a2f heartbeat parse error: unexpected frame length 14', 300),
      ],
      changes: [
        change({
          id: 'cfg',
          service,
          kind: 'config',
          summary: 'slave heartbeat timeout 30 s -> 10 s',
          agoMs: 60 * MIN,
        }),
      ],
    });
  const weightOf = (r: ReturnType<typeof run>, service: string) =>
    r.hypotheses
      .find((h) => h.service === service)
      ?.evidence.find((e) => e.ruleId === 'change.recent' && e.changeId === 'cfg')?.weight;

  test("the failing service's own change record shows the 0.7 it counted, not its full weight", () => {
    const own = weightOf(changeOf('twcmanager'), 'twcmanager')!;
    const dependency = weightOf(changeOf('rs485_link'), 'rs485_link')!;
    expect(own).toBeCloseTo(dependency * 0.7, 2);
  });
});
