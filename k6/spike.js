// Spike test: ticket-open - a calm baseline, ten times the flow within seconds, then calm again.
import { spikeScenarios, slaThresholds, FLOW_APIS } from './lib/plan.js';
import { prepare, verify } from './lib/flow.js';
import { makeSummary } from './lib/summary.js';

export { flow } from './lib/flow.js';

const scenarios = spikeScenarios();
export const options = {
  scenarios,
  thresholds: slaThresholds({ apis: FLOW_APIS }),
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'],
};

export function setup() { return prepare(scenarios); }
export function teardown(data) { verify(data); }
export function handleSummary(data) { return makeSummary(data); }
