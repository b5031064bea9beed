// Load test: the ticketing flow at a stage of the plan (-e STAGE=1..4, or all four with
// STAGE=all), arrival-rate driven so a slow server cannot slow the offered load.
import { loadScenarios, slaThresholds, FLOW_APIS } from './lib/plan.js';
import { prepare, verify } from './lib/flow.js';
import { makeSummary } from './lib/summary.js';

export { flow, confirmOnly, assignOnly, balanceOnly } from './lib/flow.js';

const scenarios = loadScenarios();
export const options = {
  scenarios,
  thresholds: slaThresholds({ apis: FLOW_APIS }),
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'],
};

export function setup() { return prepare(scenarios); }
export function teardown(data) { verify(data); }
export function handleSummary(data) { return makeSummary(data); }
