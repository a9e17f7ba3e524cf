// One layer or dispatch scenario's outcome: what run.ts collects, and what both report.ts and
// dispatch-report.ts (the consumer dispatch part of the report, which report.ts includes) read.
import type { ScenarioFigures } from './layer-send-receive';
import type { LayerKind, WorkerPlacement } from './targets';

/** A scenario as planned, and either its figures or why it failed. */
export interface ScenarioOutcome {
  layer: LayerKind;
  channel: string;
  inFlight: number;
  /** Where the consumers run: set for consumer dispatch scenarios only. */
  worker?: WorkerPlacement;
  figures?: ScenarioFigures;
  error?: string;
}
