// One priority API alone: GET /api/wallet/{userId}/balance (priority 3: reads and the balance cache),
// at the request rate of the chosen stage (-e STAGE=1..4).
import { apiScenarios, slaThresholds } from './lib/plan.js';
import { prepare, verify } from './lib/flow.js';
import { makeSummary } from './lib/summary.js';

export { balanceOnly } from './lib/flow.js';

const scenarios = apiScenarios('balanceOnly');
export const options = {
  scenarios,
  thresholds: slaThresholds({ apis: ['balance'] }),
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'],
};

export function setup() { return prepare(scenarios); }
export function teardown(data) { verify(data); }
export function handleSummary(data) { return makeSummary(data); }
