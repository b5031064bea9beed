// One priority API alone: POST /api/reservations/temporary-assign (priority 2: the first-come seat race),
// at the request rate of the chosen stage (-e STAGE=1..4).
import { apiScenarios, slaThresholds } from './lib/plan.js';
import { prepare, verify } from './lib/flow.js';
import { makeSummary } from './lib/summary.js';

export { assignOnly } from './lib/flow.js';

const scenarios = apiScenarios('assignOnly');
export const options = {
  scenarios,
  thresholds: slaThresholds({ apis: ['temporary_assign'] }),
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'],
};

export function setup() { return prepare(scenarios); }
export function teardown(data) { verify(data); }
export function handleSummary(data) { return makeSummary(data); }
