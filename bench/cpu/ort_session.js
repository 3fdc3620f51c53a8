// ort_session.js — what ort_bench.js and ort_profile.js share: an ONNX Runtime
// CPU session with the benchmark's options, and seeded non-zero inputs for it.
const path = require('path');
const ort = require(path.join(__dirname, 'ort', 'node_modules', 'onnxruntime-node'));

async function open(model, threads, options = {}) {
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: 'all', ...options,
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
  return {ort, session, feeds};
}

module.exports = {open};
