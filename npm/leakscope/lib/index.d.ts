// Types of leakscope's JavaScript API. The reports are the CLI's `--json`
// output; the fields most callers read are typed, the rest is open.

/** Where and how to run the binary. */
export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

/** Flags of `leakscope hunt`, camelCased; numbers for durations are seconds. */
export interface HuntOptions extends RunOptions {
  /** Launch this command with the inspector and stop it at the end, e.g. `['node', 'app.js']`. */
  command?: string[] | string;
  pid?: number;
  port?: number;
  inspectorUrl?: string;
  allowRemote?: boolean;
  url?: string;
  requestFile?: string;
  concurrency?: number;
  noLoad?: boolean;
  loadCmd?: string;
  noWorkers?: boolean;
  forceSnapshot?: boolean;
  noSourceMaps?: boolean;
  generatedPositions?: boolean;
  noSnapshot?: boolean;
  oneSnapshot?: boolean;
  rounds?: number;
  requests?: number;
  roundTime?: number | string;
  budget?: number | string;
  warmup?: number;
  out?: string;
  keep?: boolean;
  report?: string;
  tracking?: boolean;
  traceGc?: boolean;
  jit?: boolean;
  junit?: string;
  markdown?: string;
  allow?: string | RegExp;
  baseline?: string;
}

export interface FindLeaksOptions extends RunOptions {
  report?: string;
  noCache?: boolean;
  noSourceMaps?: boolean;
  generatedPositions?: boolean;
  /** Calls (requests, operations) made between consecutive snapshots: rates per call. */
  calls?: number;
  junit?: string;
  markdown?: string;
  allow?: string | RegExp;
  baseline?: string;
}

export interface SummaryOptions extends RunOptions {
  top?: number;
  noCache?: boolean;
}

export interface Step {
  edge?: string;
  node: string;
  id: number;
}

export interface Finding {
  thread: string;
  /** e.g. "Array `pending` (module scope of app.js)". */
  holder: string;
  holder_id: number;
  package?: string;
  path_to_holder: Step[];
  path_to_leaked: Step[];
  leaked_items: { name: string; count: number; bytes: number };
  objects: number;
  bytes: number;
  bytes_per_request?: number;
  objects_per_request?: number;
  bytes_per_second?: number;
  objects_per_second?: number;
  mb_per_hour?: number;
  confidence: 'high' | 'medium' | 'low';
  evidence: string;
  [field: string]: unknown;
}

/** `hunt --json` and `find-leaks --json`: empty `findings` when clean. */
export interface LeakReport {
  verdict: string;
  confidence: string;
  confidence_reason: string;
  findings: Finding[];
  notes: string[];
  warnings: string[];
  [field: string]: unknown;
}

export interface ExpectNoLeakOptions {
  /** Calls per round (after as many to warm up). Default 200. */
  iterations?: number;
  /** Snapshots taken, one before each round and one after the last (3 or more). Default 4. */
  snapshots?: number;
  env?: NodeJS.ProcessEnv;
}

export function hunt(options?: HuntOptions): Promise<LeakReport>;
export function findLeaks(paths: string[], options?: FindLeaksOptions): Promise<LeakReport>;
export function summary(path: string, options?: SummaryOptions): Promise<Record<string, unknown>>;
export function expectNoLeak(fn: (i: number) => unknown, options?: ExpectNoLeakOptions): Promise<LeakReport>;
export function binaryPath(env?: NodeJS.ProcessEnv): string;

export class LeakError extends Error {
  report: LeakReport;
}
export class LeakscopeError extends Error {
  code?: number;
  stderr?: string;
}
