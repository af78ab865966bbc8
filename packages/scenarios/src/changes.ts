import { type Edit, type FnSpec, moduleSpec } from './catalogue.ts';
import type { CulpritSpec } from './chain.ts';
import { additionDiff, configDiff, functionDiff } from './diff.ts';
import type { Rng } from './prng.ts';
import { filePath, moduleDir, pathRoots } from './station.ts';
import type { ChangeTag, ScenarioChange, ServiceInstance, Station } from './types.ts';

const hour = 3_600_000;
const day = 24 * hour;
const authors = [
  'm.keller',
  'a.novak',
  'j.meyer',
  's.okafor',
  'l.fischer',
  'r.haddad',
  'p.lindqvist',
  'dependabot[bot]',
];

/** Builds change records for one scenario: the culprit and the distractors. */
export function createChangeFactory(rng: Rng, station: Station) {
  const repoOf = (svc: ServiceInstance) => svc.repo ?? station.repo;
  let reverted = false;
  const fnsOf = (svc: ServiceInstance): FnSpec[] => moduleSpec(svc.role, svc.moduleType).functions;

  const commit = (
    svc: ServiceInstance,
    at: number,
    tag: ChangeTag,
    fn: FnSpec,
    edit: Edit,
    opts: { summary?: string; deploy?: boolean } = {},
  ): ScenarioChange => {
    const spec = moduleSpec(svc.role, svc.moduleType);
    const path = filePath(spec, fn.file, station.layout);
    const diff = functionDiff(path, fn, edit, rng);
    const pr = rng.chance(0.6) ? ` (#${rng.int(700, 3100)})` : '';
    const summary = opts.summary ?? `${edit.message}${pr}`;
    if (opts.deploy) {
      const version = `${rng.int(2024, 2026)}.${rng.int(1, 12)}.${rng.int(0, 4)}`;
      return {
        id: `deploy-${svc.name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-${version}-${rng.hex(4)}`,
        service: svc.name,
        kind: 'deploy',
        at,
        summary: `Deploy ${spec.type} ${version}: ${summary}`,
        files: [path],
        diff,
        author: rng.pick(['ci/deploy-bot', 'fleet-rollout', 'ops:j.meyer']),
        tag,
      };
    }
    const sha = rng.hex(40);
    return {
      id: sha,
      sha,
      service: svc.name,
      kind: 'commit',
      at,
      summary,
      files: [path],
      diff,
      author: rng.pick(authors),
      url: `https://github.com/${repoOf(svc)}/commit/${sha}`,
      tag,
    };
  };

  /** A change of a service's config file (always possible, also for services without code). */
  const configChange = (
    svc: ServiceInstance,
    at: number,
    tag: ChangeTag,
    c: {
      file: string;
      context: string;
      before: string[];
      changed: [string, string];
      after: string[];
      summary: string;
    },
  ): ScenarioChange => {
    const path = `${pathRoots(station.layout).config}/${c.file}`;
    return {
      id: `cfg-${rng.hex(10)}`,
      service: svc.name,
      kind: 'config',
      at,
      summary: c.summary,
      files: [path],
      diff: configDiff(path, c.context, { before: c.before, changed: c.changed, after: c.after }, rng),
      author: rng.pick(['csms', 'ops:j.meyer', 'ansible', 'provisioning']),
      tag,
    };
  };

  /** A harmless-looking config tweak for any service (log levels, intervals). */
  const benignConfig = (svc: ServiceInstance, at: number, tag: ChangeTag): ScenarioChange => {
    const key = rng.pick([
      ['log_level: info', 'log_level: debug', 'raise log level for field investigation'],
      ['publish_interval_ms: 1000', 'publish_interval_ms: 2000', 'halve telemetry rate'],
      ['telemetry_enabled: false', 'telemetry_enabled: true', 'enable telemetry export'],
    ] as const);
    return configChange(svc, at, tag, {
      file: 'config-station.yaml',
      context: 'active_modules:',
      before: [`  ${svc.name}:`, `    module: ${svc.moduleType}`, '    config_module:'],
      changed: [`      ${key[0]}`, `      ${key[1]}`],
      after: [],
      summary: `${svc.name}: ${key[2]}`,
    });
  };

  /** A formatting/comment edit for functions the catalogue has no harmless edit for. */
  const housekeeping = (fn: FnSpec, type: string): Edit => {
    const line = rng.int(0, fn.body.length - 1);
    const [note, message] = rng.pick([
      ['// NOLINT(bugprone-narrowing-conversions)', 'clang-tidy: silence narrowing warning'],
      ['// TODO: move to the module config', 'note a follow-up'],
      ['// reviewed for the 2025.x API', 'review notes'],
    ] as const);
    return { line, to: [`${fn.body[line] ?? ''} ${note}`], message: `${type}: ${message}` };
  };

  /** Any change in a service: a commit with a benign or regression-looking edit, or a config tweak. */
  const anyChange = (
    svc: ServiceInstance,
    at: number,
    tag: ChangeTag,
    opts: { prefer?: FnSpec; edits?: 'benign' | 'any'; deploy?: boolean; avoid?: Edit } = {},
  ): ScenarioChange => {
    const editable = fnsOf(svc).filter((f) => f.body.length > 0);
    const benignOnly = editable;
    // An innocent change must look innocent: a harmless edit, or a config tweak when there is none.
    if (opts.edits === 'benign' && !benignOnly.length) return benignConfig(svc, at, tag);
    const fns = opts.edits === 'benign' ? benignOnly : editable;
    if (!fns.length) return benignConfig(svc, at, tag);
    const fn = opts.prefer && fns.includes(opts.prefer) ? opts.prefer : rng.pick(fns);
    const benign = fn.benign.length ? fn.benign : [housekeeping(fn, svc.moduleType)];
    const all = opts.edits === 'benign' ? benign : [...benign, ...fn.regressions];
    const pool = all.filter((e) => e !== opts.avoid).length ? all.filter((e) => e !== opts.avoid) : all;
    const edit = pool.length ? rng.pick(pool) : (fn.benign[0] as Edit);
    return commit(svc, at, tag, fn, edit, { deploy: opts.deploy });
  };

  return {
    /** The change that caused the fault, or null for runtime faults. */
    culprit(
      root: ServiceInstance,
      spec: CulpritSpec | undefined,
      pinned: number | null,
    ): { change: ScenarioChange; fn: FnSpec | null; edit: Edit | null } | null {
      if (!spec) return null;
      const before = (min: number, max: number) =>
        pinned !== null ? pinned - rng.int(5_000, 90_000) : -rng.int(min, max);
      if (spec.kind === 'config')
        return {
          change: configChange(root, before(10 * 60_000, 3 * day), 'culprit', spec),
          fn: null,
          edit: null,
        };
      if (spec.kind === 'firmware') {
        return {
          change: {
            id: `fw-${root.name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-${spec.version}-${rng.hex(4)}`,
            service: root.name,
            kind: 'firmware',
            at: before(15 * 60_000, 4 * day),
            summary: spec.summary,
            author: rng.pick(['service-technician', 'fleet-fota', 'ops:a.novak']),
            tag: 'culprit',
          },
          fn: null,
          edit: null,
        };
      }
      const fns = fnsOf(root).filter((f) => f.regressions.length);
      const tagged = fns.filter((f) => f.tags.some((t) => spec.tags.includes(t)));
      const fn = rng.pick(tagged.length ? tagged : fns);
      const edit = rng.pick(fn.regressions);
      return {
        change: commit(root, before(20 * 60_000, 6 * day), 'culprit', fn, edit, { deploy: rng.chance(0.25) }),
        fn,
        edit,
      };
    },

    /**
     * A change in a service that is not a root-cause candidate (or in a service outside the map).
     * A service that shares module code with a candidate (the other connector's EvseManager, a
     * second Yeti board) only gets config changes: a commit to shared code is a candidate change.
     */
    outsideCandidates(
      nonCandidates: Array<{ svc: ServiceInstance; sharesCode: boolean }>,
      at: number,
    ): ScenarioChange {
      if (!nonCandidates.length) {
        const name = rng.pick(['fleet-telemetry', 'cloud-portal', 'billing-exporter']);
        return {
          id: `deploy-${name}-${rng.int(100, 999)}-${rng.hex(4)}`,
          service: name,
          kind: 'deploy',
          at,
          summary: `Deploy ${name} ${rng.int(1, 4)}.${rng.int(0, 20)}.${rng.int(0, 9)}`,
          author: 'ci/deploy-bot',
          tag: 'outside-candidates',
        };
      }
      const { svc, sharesCode } = rng.pick(nonCandidates);
      if (sharesCode) return benignConfig(svc, at, 'outside-candidates');
      return anyChange(svc, at, 'outside-candidates', { deploy: rng.chance(0.2) });
    },

    /**
     * A change older than the look-back, preferably in the function the culprit touches. With a
     * deployed culprit it is sometimes the same edit: committed long ago, deployed recently.
     */
    old(
      svc: ServiceInstance,
      at: number,
      culprit: { change: ScenarioChange; fn: FnSpec | null; edit: Edit | null } | null,
    ): ScenarioChange {
      const sameEdit =
        culprit?.change.kind === 'deploy' && culprit.change.service === svc.name && rng.chance(0.5);
      if (sameEdit && culprit.fn && culprit.edit) return commit(svc, at, 'old', culprit.fn, culprit.edit);
      return anyChange(svc, at, 'old', {
        prefer: culprit?.fn ?? undefined,
        avoid: culprit?.edit ?? undefined,
      });
    },

    /** A change after the event: a revert of the culprit, or a follow-up fix in the same code. */
    afterEvent(
      svc: ServiceInstance,
      at: number,
      culprit: ScenarioChange | null,
      prefer: FnSpec | null,
    ): ScenarioChange {
      if (culprit && culprit.service === svc.name && !reverted && rng.chance(0.5)) {
        reverted = true;
        const what = culprit.summary.replace(/^Deploy \S+ \S+: /, '');
        if (culprit.kind === 'firmware')
          return {
            ...culprit,
            id: `fw-rollback-${rng.hex(8)}`,
            at,
            summary: `Roll back: ${what}`,
            tag: 'after-event',
          };
        const diff = culprit.diff ? invertDiff(culprit.diff) : undefined;
        if (culprit.kind === 'config')
          return {
            ...culprit,
            id: `cfg-${rng.hex(10)}`,
            at,
            summary: `Revert: ${what}`,
            diff,
            tag: 'after-event',
          };
        const sha = rng.hex(40);
        return {
          id: sha,
          sha,
          service: svc.name,
          kind: 'commit',
          at,
          summary: `Revert "${what}"`,
          files: culprit.files,
          diff,
          author: rng.pick(authors),
          url: `https://github.com/${repoOf(svc)}/commit/${sha}`,
          tag: 'after-event',
        };
      }
      const c = anyChange(svc, at, 'after-event', { prefer: prefer ?? undefined });
      if (rng.chance(0.5)) c.summary = `hotfix: ${c.summary}`;
      return c;
    },

    /** A recent change that touches only tests or documentation of a candidate. */
    testsOrDocs(svc: ServiceInstance, at: number): ScenarioChange {
      const spec = moduleSpec(svc.role, svc.moduleType);
      const dir = moduleDir(spec, station.layout);
      const sha = rng.hex(40);
      const variant = rng.int(0, 2);
      const testName = `${spec.type.replace(/[^A-Za-z0-9]/g, '')}Test`;
      const files =
        variant === 0
          ? [`${dir}/tests/${spec.type.toLowerCase()}_test.cpp`]
          : variant === 1
            ? [`${dir}/doc.rst`]
            : [`${dir}/tests/${spec.type.toLowerCase()}_test.cpp`, `${dir}/README.md`];
      const diff = files
        .map((f) =>
          f.endsWith('.cpp')
            ? additionDiff(
                f,
                `TEST_F(${testName}, handles_error_path) {`,
                [
                  `TEST_F(${testName}, reports_fault_once) {`,
                  '    auto fixture = make_fixture();',
                  '    fixture.inject_fault();',
                  '    EXPECT_EQ(fixture.raised_errors().size(), 1);',
                  '}',
                ],
                rng,
                rng.int(20, 200),
              )
            : additionDiff(
                f,
                rng.pick(['Configuration', 'Error handling', 'Troubleshooting']),
                [
                  '',
                  `${rng.pick(['Note', 'Hint'])}: see the troubleshooting section for ${spec.type} error codes.`,
                ],
                rng,
                rng.int(5, 80),
              ),
        )
        .join('');
      return {
        id: sha,
        sha,
        service: svc.name,
        kind: 'commit',
        at,
        summary:
          variant === 0
            ? rng.pick([
                `${spec.type}: add unit test for error reporting`,
                `test(${spec.type}): cover fault path`,
              ])
            : variant === 1
              ? `docs: ${spec.type} configuration reference`
              : `${spec.type}: tests for the fault path, README troubleshooting notes`,
        files,
        diff,
        author: rng.pick(authors),
        url: `https://github.com/${repoOf(svc)}/commit/${sha}`,
        tag: 'tests-docs',
      };
    },

    /** A recent, harmless change in an innocent candidate. */
    innocentCandidate(svc: ServiceInstance, at: number): ScenarioChange {
      return anyChange(svc, at, 'innocent-candidate', { edits: 'benign' });
    },
  };
}

export const changeTimes = { hour, day };

/** Swaps added and removed lines of a unified diff (what `git revert` produces). */
function invertDiff(diff: string): string {
  return diff
    .split('\n')
    .map((l) => {
      if (l.startsWith('--- ') || l.startsWith('+++ ')) return l;
      if (l.startsWith('@@')) return l.replace(/^@@ -(\S+) \+(\S+) @@/, '@@ -$2 +$1 @@');
      if (l.startsWith('-')) return `+${l.slice(1)}`;
      if (l.startsWith('+')) return `-${l.slice(1)}`;
      return l;
    })
    .join('\n');
}
