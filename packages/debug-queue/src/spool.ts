import { appendFileSync } from 'node:fs';
import { type FileHandle, open, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { errorOf } from './transport.js';
import type { Item } from './types.js';

export interface SpoolOptions {
  file: string;
  /** Undelivered items are appended at most this long after log(); a crash loses at most this window. */
  intervalMs?: number;
  /** fdatasync after each append: survives power loss, at the cost of flash writes. */
  fsync?: boolean;
  onError?: (error: Error) => void;
}

/**
 * Append-only journal of undelivered items: `{"add":item}` and `{"done":[keys]}` lines. Items
 * delivered before the next write never touch the file, so a reachable destination costs no I/O.
 * Recovery replays adds minus dones, skips torn lines, and rewrites the file compacted.
 */
export class Spool {
  recoveredCount = 0;
  corruptLines = 0;
  errors = 0;
  /** Resolves with the recovered items once the file is read and compacted. */
  readonly ready: Promise<Item[]>;

  private readonly live = new Map<string, Item>();
  private readonly unwritten = new Map<string, Item>();
  private doneWritten: string[] = [];
  private handle: FileHandle | undefined;
  private linesInFile = 0;
  private chain: Promise<unknown>;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private readonly intervalMs: number;

  constructor(private readonly options: SpoolOptions) {
    this.intervalMs = options.intervalMs ?? 100;
    this.ready = this.recover().catch((e: unknown) => {
      this.fail(e);
      return [];
    });
    this.chain = this.ready;
    openSpools.add(this);
    ensureExitHook();
  }

  get file(): string {
    return this.options.file;
  }

  /** Records a newly queued item (memory only until the next write). */
  add(item: Item): void {
    if (this.closed) return;
    this.live.set(item.key, item);
    this.unwritten.set(item.key, item);
    this.schedule();
  }

  /** Records that an item left the queue (delivered, rejected or dropped). */
  done(key: string): void {
    if (!this.live.delete(key)) return;
    if (!this.unwritten.delete(key)) {
      this.doneWritten.push(key);
      this.schedule();
    }
  }

  /** Writes what is pending now. */
  flush(): Promise<void> {
    // Every step catches, so one failure cannot break the chain for the writes after it.
    this.chain = this.chain.then(() => this.write()).catch((e: unknown) => this.fail(e));
    return this.chain.then(() => undefined);
  }

  /** Final write: the file is rewritten with what is still undelivered, or removed when nothing is. */
  async close(): Promise<void> {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.chain = this.chain.then(() => this.compact()).catch((e: unknown) => this.fail(e));
    await this.chain;
    this.closed = true;
    openSpools.delete(this);
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
  }

  /** Synchronous last-chance write from the process 'exit' hook. */
  writeSync(): void {
    if (this.closed || (this.unwritten.size === 0 && this.doneWritten.length === 0)) return;
    try {
      appendFileSync(this.options.file, this.takePending());
    } catch {
      // the process is exiting; nothing left to report to
    }
  }

  private schedule(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.intervalMs);
    this.timer.unref?.();
  }

  private takePending(): string {
    let text = '';
    for (const item of this.unwritten.values()) text += `${JSON.stringify({ add: item })}\n`;
    if (this.doneWritten.length > 0) text += `${JSON.stringify({ done: this.doneWritten })}\n`;
    this.linesInFile += this.unwritten.size + (this.doneWritten.length > 0 ? 1 : 0);
    this.unwritten.clear();
    this.doneWritten = [];
    return text;
  }

  private async write(): Promise<void> {
    if (this.closed || (this.unwritten.size === 0 && this.doneWritten.length === 0)) return;
    const adds = [...this.unwritten.values()];
    const dones = this.doneWritten;
    const text = this.takePending();
    try {
      this.handle ??= await open(this.options.file, 'a');
      await this.handle.write(text);
      if (this.options.fsync) await this.handle.datasync();
    } catch (e) {
      // Put the records back so the next write tries again; the items are still queued in memory.
      for (const item of adds) if (this.live.has(item.key)) this.unwritten.set(item.key, item);
      this.doneWritten.push(...dones);
      this.fail(e);
      return;
    }
    if (this.linesInFile > 1000 && this.linesInFile > 4 * this.live.size) await this.compact();
  }

  /** Rewrites the file with only the live items (temp file + rename, so a crash keeps the old one). */
  private async compact(): Promise<void> {
    // Snapshot before any await: items added while this runs are written by a later append.
    const snapshot = [...this.live.values()];
    const dones = this.doneWritten;
    this.unwritten.clear();
    this.doneWritten = [];
    try {
      await this.handle?.close();
      this.handle = undefined;
      if (snapshot.length === 0) {
        await unlink(this.options.file).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== 'ENOENT') throw e;
        });
      } else {
        let text = '';
        for (const item of snapshot) text += `${JSON.stringify({ add: item })}\n`;
        const tmp = `${this.options.file}.tmp`;
        await writeFile(tmp, text);
        if (this.options.fsync) {
          const h = await open(tmp, 'r+');
          await h.datasync();
          await h.close();
        }
        await rename(tmp, this.options.file);
      }
      this.linesInFile = snapshot.length;
    } catch (e) {
      for (const item of snapshot) if (this.live.has(item.key)) this.unwritten.set(item.key, item);
      this.doneWritten.push(...dones);
      this.fail(e);
    }
  }

  private async recover(): Promise<Item[]> {
    let text = '';
    try {
      text = await readFile(this.options.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.fail(e);
      return [];
    }
    const found = new Map<string, Item>();
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        const record = JSON.parse(line) as { add?: Item; done?: string[] };
        if (record.add && isItem(record.add)) found.set(record.add.key, record.add);
        else if (Array.isArray(record.done)) for (const key of record.done) found.delete(key);
        else this.corruptLines++;
      } catch {
        this.corruptLines++; // a torn last line after a crash
      }
    }
    const items = [...found.values()];
    this.recoveredCount = items.length;
    for (const item of items) this.live.set(item.key, item);
    await this.compact();
    return items;
  }

  private fail(e: unknown): void {
    this.errors++;
    this.options.onError?.(errorOf(e));
  }
}

function isItem(x: Item): boolean {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof x.key === 'string' &&
    (x.kind === 'event' || x.kind === 'log') &&
    (x.priority === 'high' || x.priority === 'low') &&
    typeof x.body === 'object' &&
    x.body !== null
  );
}

// One 'exit' listener for all spools: it writes, synchronously, what the interval timer had not yet written.
const openSpools = new Set<Spool>();
let exitHooked = false;
function ensureExitHook(): void {
  if (exitHooked || typeof process === 'undefined' || typeof process.on !== 'function') return;
  exitHooked = true;
  process.on('exit', () => {
    for (const spool of openSpools) spool.writeSync();
  });
}
