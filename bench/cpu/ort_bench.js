// ort_bench.js — time a model with ONNX Runtime (onnxruntime-node, CPU).
//
//   node bench/cpu/ort_bench.js MODEL.onnx THREADS RUNS
//
// Same protocol as `kiln run --bench`: one session, 10 warm-up runs, then RUNS
// timed runs on seeded non-zero inputs; prints the median latency in ms.
const {open} = require('./ort_session');

async function main() {
  const [model, threads, runs] = [process.argv[2], +process.argv[3], +process.argv[4]];
  const {ort, session, feeds} = await open(model, threads);
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
