/**
 * Optional step timing of a jail's create and start (benchmarks, issue 12): the caller passes
 * `onStep(step, ms)`; without it `timed()` only runs the step (no clock read, no allocation).
 */
import { performance } from 'node:perf_hooks';

/** Receives how long one named step took, in milliseconds. */
export type OnStep = (step: string, ms: number) => void;

/** Runs fn; when onStep is given, reports its duration under `step` (also when it fails). */
export async function timed<T>(onStep: OnStep | undefined, step: string, fn: () => Promise<T>): Promise<T> {
  if (!onStep) return fn();
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    onStep(step, performance.now() - t0);
  }
}
