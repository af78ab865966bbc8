import type { Draft } from './assemble.ts';
import { changeTimes, createChangeFactory } from './changes.ts';
import { backgroundMessage, chronicMessage, otherSessionLines, vagueMessage } from './logs.ts';
import type { ScenarioChange } from './types.ts';

const { hour, day } = changeTimes;
const sec = 1000;
const min = 60 * sec;

/**
 * Log distractors: noisy warnings outside the candidates, chronic warnings of innocent services for
 * hours, another session's lines, vague errors, and ordinary background traffic.
 */
export function addLogDistractors(d: Draft, sTimes: number[]): void {
  const { rng, station, ctx, traits, push, logs, candidateNames } = d;
  const { failing, root, session } = ctx;
  const sessionEvse = session.evse;
  const evses = station.services.filter((s) => s.role === 'evse_manager');
  // --- log distractors
  const nonCandidates = station.services.filter((s) => !candidateNames.has(s.name));
  const innocentCandidates = station.services.filter(
    (s) => candidateNames.has(s.name) && s.name !== root.name && s.name !== failing.name,
  );
  const windowTime = () => -Math.round(rng.float(2, 290) * sec);

  const noisy = nonCandidates.length ? rng.sample(nonCandidates, rng.int(1, 3)) : [];
  for (const s of noisy)
    for (let i = 0; i < rng.int(1, 2); i++) push(windowTime(), s, 'warn', chronicMessage(rng, s), 'noise');
  if (!noisy.length) {
    push(
      windowTime(),
      'kernel',
      'warn',
      `usb 1-1: reset high-speed USB device number ${rng.int(2, 6)} using ci_hdrc`,
      'noise',
    );
    traits.push('noise-from-kernel');
  }

  const chronicPool = innocentCandidates.length ? innocentCandidates : nonCandidates;
  for (const s of rng.sample(chronicPool.length ? chronicPool : [failing], rng.int(1, 2))) {
    const msg = chronicMessage(rng, s);
    const start = -Math.round(rng.float(3, 10) * hour);
    const every = Math.round(rng.float(8, 30) * min);
    for (let at = start; at < -60 * sec; at += every + Math.round(rng.float(-1, 1) * min))
      push(at, s, 'warn', msg, 'chronic');
    push(windowTime(), s, 'warn', msg, 'chronic');
  }

  const otherEvses = evses.filter((e) => e.name !== sessionEvse.name);
  const otherEvse = otherEvses.length ? rng.pick(otherEvses) : sessionEvse;
  const otherCid = rng.uuid();
  if (otherEvse.name !== sessionEvse.name)
    logs.push(
      ...otherSessionLines(
        ctx,
        otherEvse,
        otherCid,
        -Math.round(rng.float(200, 290) * sec),
        -Math.round(rng.float(1, 60) * sec),
        rng.chance(0.7),
      ),
    );
  else {
    const end = Math.min(...sTimes) - Math.round(rng.float(20, 120) * sec);
    logs.push(
      ...otherSessionLines(
        ctx,
        otherEvse,
        otherCid,
        end - Math.round(rng.float(10, 40) * min),
        end,
        rng.chance(0.7),
      ),
    );
  }

  const vaguePool = [...innocentCandidates, ...nonCandidates];
  for (const s of rng.sample(vaguePool.length ? vaguePool : [failing], rng.int(1, 3)))
    push(windowTime(), s, 'error', vagueMessage(rng), 'vague');

  for (let i = 0; i < rng.int(8, 20); i++) {
    const s = rng.pick(station.services);
    const [level, msg] = backgroundMessage(rng, s);
    push(i % 3 === 0 ? -Math.round(rng.float(0.2, 6) * hour) : windowTime(), s, level, msg, 'background');
  }
}

/**
 * The culprit change (none for runtime faults) and the change distractors: outside the candidates,
 * older than the look-back, after the event, tests/docs only, and sometimes an innocent candidate's.
 */
export function buildChanges(
  d: Draft,
  templateId: string,
): { list: ScenarioChange[]; culprit: ScenarioChange | null } {
  const { rng, station, ctx, spec, traits, candidateNames } = d;
  const { failing, root, cls } = ctx;
  const changeCaused = cls !== 'runtime';
  const nonCandidates = station.services.filter((s) => !candidateNames.has(s.name));
  const innocentCandidates = station.services.filter(
    (s) => candidateNames.has(s.name) && s.name !== root.name && s.name !== failing.name,
  );
  // --- changes: the culprit and the change distractors
  const changes = createChangeFactory(rng, station);
  const pinned = spec.root.filter((l) => l.at !== undefined).map((l) => l.at as number);
  const culpritBuilt = changeCaused
    ? changes.culprit(root, spec.culprit, pinned.length ? Math.min(...pinned) : null)
    : null;
  if (changeCaused && !culpritBuilt)
    throw new Error(`template ${templateId} has no culprit for class ${cls}`);
  const culprit = culpritBuilt?.change ?? null;
  const fn = culpritBuilt?.fn ?? null;
  const list: ScenarioChange[] = culprit ? [culprit] : [];
  if (culprit?.kind === 'deploy') traits.push('culprit-deploy');
  const recent = () => (rng.chance(0.4) ? -rng.int(min, 30 * min) : -rng.int(5 * min, 3 * day));
  const candidateFiles = station.services.filter((s) => candidateNames.has(s.name)).flatMap((s) => s.files);
  const outside = nonCandidates.map((s) => ({
    svc: s,
    sharesCode: s.files.some((f) => candidateFiles.some((g) => f.startsWith(g) || g.startsWith(f))),
  }));
  for (let i = rng.int(1, 3); i > 0; i--) list.push(changes.outsideCandidates(outside, recent()));
  const others = [...innocentCandidates];
  const pickCandidate = (pRoot: number, pFailing: number) => {
    const r = rng.next();
    if (r < pRoot) return root;
    if (r < pRoot + pFailing || !others.length) return failing;
    return rng.pick(others);
  };
  for (let i = rng.int(1, 2); i > 0; i--)
    list.push(changes.old(pickCandidate(0.6, 0.25), -rng.int(8 * day, 25 * day), culpritBuilt));
  for (let i = rng.int(1, 2); i > 0; i--)
    list.push(changes.afterEvent(pickCandidate(0.55, 0.45), rng.int(3 * min, 20 * hour), culprit, fn));
  for (let i = rng.int(1, 2); i > 0; i--)
    list.push(changes.testsOrDocs(pickCandidate(0.5, 0.3), -rng.int(10 * min, 4 * day)));
  const innocentPool = station.services.filter((s) => candidateNames.has(s.name) && s.name !== root.name);
  if (innocentPool.length && rng.chance(0.4)) {
    list.push(changes.innocentCandidate(rng.pick(innocentPool), -rng.int(10 * min, 5 * day)));
    traits.push('innocent-candidate-change');
  }
  return { list, culprit };
}
