// ort_bench.js — time a model with ONNX Runtime (onnxruntime-node, CPU).
//
//   node bench/cpu/ort_bench.js MODEL.onnx THREADS RUNS
//
// Same protocol as `kiln run --bench`: one session, 10 warm-up runs, then RUNS
// timed runs on seeded non-zero inputs; prints the median latency in ms.
const path = require('path');
const ort = require(path.join(__dirname, 'ort', 'node_modules', 'onnxruntime-node'));

async function main() {
  const [model, threads, runs] = [process.argv[2], +process.argv[3], +process.argv[4]];
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const feeds = {};
  let state = 12345;
  for (const name of session.inputNames) {
    const meta = session.inputMetadata ? session.inputMetadata.find?.(m => m.name === name) : null;
    const dims = meta && meta.shape ? meta.shape : JSON.parse(process.env.KILN_BENCH_SHAPE || '[]');
    const n = dims.reduce((a, b) => a * b, 1), data = new Float32Array(n);
    for (let i = 0; i < n; i++) { state = (state * 1103515245 + 12345) >>> 0; data[i] = state / 4294967296 * 2 - 1; }
    feeds[name] = new ort.Tensor('float32', data, dims);
  }
  for (let i = 0; i < 10; i++) await session.run(feeds);
  const t = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    t.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  t.sort((a, b) => a - b);
  console.log(`median ${t[Math.floor(runs / 2)].toFixed(4)} ms (onnxruntime-node ${ort.env.versions ? ort.env.versions.common || '' : ''}, ${threads} threads, ${runs} runs)`);
}
main().catch(e => { console.error(e); process.exit(1); });
