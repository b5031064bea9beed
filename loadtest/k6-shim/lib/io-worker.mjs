// I/O thread of the k6 shim (thread-per-VU mode): runs the blocked VUs' HTTP requests (see
// http-client.mjs), times them and wakes the VU. Timings never include the time a VU spends in
// JavaScript, only the wire.
import { parentPort } from 'node:worker_threads';
import { Run, Finish } from './http-client.mjs';

let batch = [];

parentPort.on('message', (m) => {
  if (m.type !== 'register') return;
  const { vuId, port, flag } = m;
  const f = new Int32Array(flag);
  port.on('message', (req) => {
    Run(vuId, req, (raw) => {
      const [record, response] = Finish(req, raw);
      batch.push(record);
      port.postMessage(response);
      Atomics.store(f, 0, 1);
      Atomics.notify(f, 0);
    });
  });
});

setInterval(() => {
  if (batch.length) { parentPort.postMessage({ type: 'http', batch }); batch = []; }
}, 100).unref();
parentPort.on('message', (m) => {
  if (m.type === 'flush') { parentPort.postMessage({ type: 'http', batch }); batch = []; parentPort.postMessage({ type: 'flushed', id: m.id }); }
});
