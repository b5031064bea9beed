// k6/execution: what the running VU knows about itself, its scenario and the test.
// The VU's context: in one-thread mode this module instance belongs to one VU (?k6vu=N);
// in thread-per-VU mode the VU thread's global.
const vuCtx = globalThis.__k6shimVU ? globalThis.__k6shimVU(import.meta.url) : null;
const shim = () => vuCtx || globalThis.__k6shim;

export default {
  get vu() {
    const s = shim().state;
    return { idInInstance: s.vuId, idInTest: s.vuId, iterationInInstance: s.iter, iterationInScenario: s.iterInScenario, tags: s.tags };
  },
  get scenario() {
    const s = shim().state;
    return { name: s.scenario, executor: s.executor, startTime: s.scenarioStart, progress: 0, iterationInInstance: s.iterInTest, iterationInTest: s.iterInTest };
  },
  get instance() {
    const s = shim().state;
    return { currentTestRunDuration: Date.now() - s.testStart, vusActive: 0, vusInitialized: 0, iterationsCompleted: 0, iterationsInterrupted: 0 };
  },
  test: {
    abort(reason) { shim().abort(reason); },
    get options() { return shim().options; },
  },
};
