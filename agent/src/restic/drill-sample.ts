/**
 * A restore drill's sample: which files of a snapshot it restores. `restic ls --json` streams
 * every node of the snapshot (a large one has millions), so the sampler keeps only a reservoir
 * per top-level snapshot path (at most `count` files each), then picks round-robin across those
 * paths while the byte cap allows: a snapshot of /etc and /srv is tested in both.
 */

/** One regular file of the snapshot, as `ls --json` names it. */
export interface SnapshotFile {
  /** restic's path: absolute, '/'-separated (C:\x is stored as /C/x). */
  path: string;
  size: number;
  /** RFC 3339 with nanoseconds, as restic stored it. */
  mtime: string;
}

export const DEFAULT_SAMPLE_FILES = 20;
export const DEFAULT_MAX_BYTES = 100 * 1024 ** 2;
/**
 * At most this many characters of include paths in one `restore`: Linux allows 128 KiB per
 * argument and 2 MiB for all of them, and the drill's report (which names every file) must stay
 * well below the protocol's 1 MiB frame.
 */
export const MAX_INCLUDE_CHARS = 256 * 1024;

const UNITS: Record<string, number> = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** "100M" → 104857600; K, M, G and T are powers of 1024 (the protocol's BYTE_SIZE). null when not a size. */
export function parseByteSize(text: string): number | null {
  const m = /^(\d+)([KMGT]?)$/.exec(text);
  if (!m) return null;
  const n = Number(m[1]) * (UNITS[m[2] ?? ""] ?? 1);
  return Number.isSafeInteger(n) ? n : null;
}

/** mulberry32: a small seeded generator in [0, 1), so a test's sample is the same every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** restic's form of a snapshot path: Windows' `C:\x` is `/C/x` in the tree. */
export function treePath(path: string): string {
  const win = /^([A-Za-z]):[\\/]?(.*)$/.exec(path);
  if (!win) return path;
  const rest = (win[2] ?? "").replace(/\\/g, "/");
  return `/${win[1]}${rest ? `/${rest}` : ""}`;
}

interface Reservoir {
  seen: number;
  items: SnapshotFile[];
}

export interface SamplerOptions {
  count: number;
  maxBytes: number;
  random: () => number;
  /** Test seam; MAX_INCLUDE_CHARS otherwise. */
  maxIncludeChars?: number;
}

export class DrillSampler {
  readonly #o: SamplerOptions;
  /** Top-level snapshot paths in restic's form, longest first (the closest one wins). */
  #roots: string[] = [];
  #order: string[] = [];
  readonly #byRoot = new Map<string, Reservoir>();
  /** Empty files prove nothing about the packs: used only when the snapshot has nothing else. */
  readonly #empty: Reservoir = { seen: 0, items: [] };
  /** The snapshot line (the first line of `ls --json`), once read. */
  snapshotPaths: string[] | null = null;
  /** Regular files seen, and those too big for the byte cap on their own. */
  files = 0;
  tooBig = 0;

  constructor(o: SamplerOptions) {
    this.#o = o;
  }

  /** How many files the sampler holds: at most count per top-level path, plus count empty ones. */
  get held(): number {
    let n = this.#empty.items.length;
    for (const r of this.#byRoot.values()) n += r.items.length;
    return n;
  }

  /** One line of `ls --json`; anything that is not a regular file is skipped. */
  feed = (line: string): void => {
    if (!line.startsWith("{")) return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return;
    }
    if (!value || typeof value !== "object") return;
    const node = value as Record<string, unknown>;
    // 0.17 renamed struct_type to message_type (0.18 prints both).
    const kind = node.message_type ?? node.struct_type;
    if (kind === "snapshot") {
      const paths = Array.isArray(node.paths) ? node.paths.filter((p) => typeof p === "string") : [];
      this.#setRoots(paths);
      return;
    }
    if (kind !== "node" || node.type !== "file") return;
    const { path, size, mtime } = node;
    if (typeof path !== "string" || typeof mtime !== "string") return;
    const bytes = typeof size === "number" && Number.isFinite(size) && size >= 0 ? size : 0;
    this.files += 1;
    if (bytes > this.#o.maxBytes) {
      this.tooBig += 1;
      return;
    }
    const file = { path, size: bytes, mtime };
    this.#offer(bytes === 0 ? this.#empty : this.#reservoir(this.#rootOf(path)), file);
  };

  /** The sample: round-robin over the top-level paths, within the byte and argv caps. */
  pick(): SnapshotFile[] {
    const queues = this.#order
      .map((root) => this.#byRoot.get(root))
      .filter((r): r is Reservoir => !!r && r.items.length > 0)
      .map((r) => this.#shuffled(r.items));
    const picked = this.#roundRobin(queues);
    return picked.length > 0 ? picked : this.#roundRobin([this.#shuffled(this.#empty.items)]);
  }

  #roundRobin(queues: SnapshotFile[][]): SnapshotFile[] {
    const { count } = this.#o;
    const maxChars = this.#o.maxIncludeChars ?? MAX_INCLUDE_CHARS;
    let bytes = this.#o.maxBytes;
    let chars = maxChars;
    const picked: SnapshotFile[] = [];
    while (picked.length < count && queues.some((q) => q.length > 0)) {
      for (const queue of queues) {
        if (picked.length >= count) break;
        // Each path gives one file per round: the first left in its queue that still fits.
        for (let f = queue.shift(); f; f = queue.shift()) {
          if (f.size <= bytes && f.path.length <= chars) {
            picked.push(f);
            bytes -= f.size;
            chars -= f.path.length;
            break;
          }
        }
      }
    }
    return picked;
  }

  #setRoots(paths: string[]): void {
    this.snapshotPaths = paths;
    this.#order = paths.map(treePath);
    this.#roots = [...this.#order].sort((a, b) => b.length - a.length);
  }

  #rootOf(path: string): string {
    for (const root of this.#roots) {
      if (path === root || root === "/" || path.startsWith(`${root}/`)) return root;
    }
    // Outside every snapshot path (never seen from restic): a bucket of its own, still sampled.
    if (!this.#byRoot.has("")) this.#order.push("");
    return "";
  }

  #reservoir(root: string): Reservoir {
    let r = this.#byRoot.get(root);
    if (!r) {
      r = { seen: 0, items: [] };
      this.#byRoot.set(root, r);
    }
    return r;
  }

  /** Algorithm R: after n files, each one is in the reservoir with probability count/n. */
  #offer(r: Reservoir, file: SnapshotFile): void {
    r.seen += 1;
    if (r.items.length < this.#o.count) {
      r.items.push(file);
      return;
    }
    const j = Math.floor(this.#o.random() * r.seen);
    if (j < this.#o.count) r.items[j] = file;
  }

  #shuffled(items: SnapshotFile[]): SnapshotFile[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.#o.random() * (i + 1));
      [out[i], out[j]] = [out[j] as SnapshotFile, out[i] as SnapshotFile];
    }
    return out;
  }
}
