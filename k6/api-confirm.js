// One priority API alone: POST /api/reservations/confirm (priority 1: debit + seat + outbox in one transaction),
// at the request rate of the chosen stage (-e STAGE=1..4).
import { apiScenarios, slaThresholds } from './lib/plan.js';
import { prepare, verify } from './lib/flow.js';
import { makeSummary } from './lib/summary.js';

export { confirmOnly } from './lib/flow.js';

const scenarios = apiScenarios('confirmOnly');
export const options = {
  scenarios,
  thresholds: slaThresholds({ apis: ['confirm'] }),
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'],
};

export function setup() { return prepare(scenarios); }
export function teardown(data) { verify(data); }
export function handleSummary(data) { return makeSummary(data); }
