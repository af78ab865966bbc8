import protobuf from 'protobufjs/light.js';
import { uncompress } from 'snappyjs';
import type { PushedStream } from './loki-push.ts';

// grafana/loki@01a3f3fa0e17d8196702e93c409d7e1bfc91bc02:pkg/push/push.proto, the fields a client sends.
const root = protobuf.Root.fromJSON({
  nested: {
    logproto: {
      nested: {
        PushRequest: { fields: { streams: { rule: 'repeated', type: 'StreamAdapter', id: 1 } } },
        StreamAdapter: {
          fields: {
            labels: { type: 'string', id: 1 },
            entries: { rule: 'repeated', type: 'EntryAdapter', id: 2 },
            hash: { type: 'uint64', id: 3 },
          },
        },
        LabelPairAdapter: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
        EntryAdapter: {
          fields: {
            timestamp: { type: 'Timestamp', id: 1 },
            line: { type: 'string', id: 2 },
            structuredMetadata: { rule: 'repeated', type: 'LabelPairAdapter', id: 3 },
          },
        },
        // google.protobuf.Timestamp
        Timestamp: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } },
      },
    },
  },
});
export const PushRequest = root.lookupType('logproto.PushRequest');

interface Decoded {
  streams?: Array<{
    labels?: string;
    entries?: Array<{
      timestamp?: { seconds?: number | { toString(): string }; nanos?: number };
      line?: string;
      structuredMetadata?: Array<{ name?: string; value?: string }>;
    }>;
  }>;
}

/** Parses Loki's label string `{app="x", level="error"}` (Prometheus text escaping). */
export function parseLabels(s: string): Record<string, string> | null {
  const body = s.trim();
  if (!body.startsWith('{') || !body.endsWith('}')) return null;
  const out: Record<string, string> = {};
  const re = /\s*([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)/y;
  const inner = body.slice(1, -1);
  re.lastIndex = 0;
  while (re.lastIndex < inner.length) {
    const m = re.exec(inner);
    if (!m) return inner.slice(re.lastIndex).trim() ? null : out;
    out[m[1]!] = JSON.parse(`"${m[2]!}"`) as string;
  }
  return out;
}

/** The uncompressed length a snappy block states in its leading varint; null when it has none. */
function snappyLength(b: Uint8Array): number | null {
  let n = 0;
  for (let i = 0; i < 5 && i < b.length; i++) {
    n += (b[i]! & 0x7f) * 2 ** (7 * i);
    if (!(b[i]! & 0x80)) return n;
  }
  return null;
}

/** A snappy-compressed (block format) protobuf PushRequest, as Promtail, Alloy and Fluent Bit send it. */
export function decodePushRequest(
  bytes: Uint8Array,
  /** Largest decompressed push accepted (the snappy header states it before anything is inflated). */
  maxDecoded: number,
):
  | { ok: true; streams: PushedStream[]; problems: string[]; skipped: number }
  | { ok: false; problems: string[]; reason: 'too_large' | 'bad_protobuf' } {
  const stated = snappyLength(bytes);
  if (stated !== null && stated > maxDecoded)
    return {
      ok: false,
      reason: 'too_large',
      problems: [`body exceeds ${maxDecoded} bytes after snappy decompression (it states ${stated})`],
    };
  let raw: Uint8Array;
  try {
    raw = uncompress(bytes, maxDecoded);
  } catch (err) {
    return {
      ok: false,
      reason: 'bad_protobuf',
      problems: [`body is not snappy-compressed protobuf: ${(err as Error).message}`],
    };
  }
  let msg: Decoded;
  try {
    msg = PushRequest.toObject(PushRequest.decode(raw), { longs: String }) as Decoded;
  } catch (err) {
    return {
      ok: false,
      reason: 'bad_protobuf',
      problems: [`malformed PushRequest protobuf: ${(err as Error).message}`],
    };
  }
  const streams: PushedStream[] = [];
  const problems: string[] = [];
  let skipped = 0;
  (msg.streams ?? []).forEach((s, i) => {
    const labels = parseLabels(s.labels ?? '');
    if (!labels) {
      problems.push(`streams[${i}].labels: not a label set: ${String(s.labels).slice(0, 100)}`);
      skipped += s.entries?.length ?? 0;
      return;
    }
    streams.push({
      labels,
      entries: (s.entries ?? []).map((e) => ({
        ns: `${BigInt(String(e.timestamp?.seconds ?? 0)) * 1_000_000_000n + BigInt(e.timestamp?.nanos ?? 0)}`,
        line: e.line ?? '',
        metadata: e.structuredMetadata?.length
          ? Object.fromEntries(e.structuredMetadata.map((p) => [p.name ?? '', p.value ?? '']))
          : undefined,
      })),
    });
  });
  if (problems.length && !streams.length) return { ok: false, reason: 'bad_protobuf', problems };
  return { ok: true, streams, problems, skipped };
}
