// Stress test: the flow rate climbs in steps past stage 4 until the SLA breaks; abortOnFail
// stops the run there, and the last step that held the SLA is the sustainable maximum.
import { stressScenarios, slaThresholds, FLOW_APIS } from './lib/plan.js';
import { prepare, verify } from './lib/flow.js';
import { makeSummary } from './lib/summary.js';

export { flow } from './lib/flow.js';

const scenarios = stressScenarios();
export const options = {
  scenarios,
  thresholds: slaThresholds({ abortOnFail: true, apis: FLOW_APIS }),
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'],
};

export function setup() { return prepare(scenarios); }
export function teardown(data) { verify(data); }
export function handleSummary(data) { return makeSummary(data); }
