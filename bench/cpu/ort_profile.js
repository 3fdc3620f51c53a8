// ort_profile.js — each node's kernel time in ONNX Runtime (onnxruntime-node, CPU),
// from its profiler; bench/cpu/layers.py prints it beside kiln's.
//
//   node bench/cpu/ort_profile.js MODEL.onnx THREADS RUNS
//
// Same session options and inputs as ort_bench.js; prints "ort-node NAME\tMS"
// per node in execution order: the median over the runs after the first 10.
const fs = require('fs');
const os = require('os');
const path = require('path');
const {open} = require('./ort_session');

async function main() {
  const [model, threads, runs] = [process.argv[2], +process.argv[3], +process.argv[4]];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ort-profile-')), prefix = path.join(dir, 'p');
  const {session, feeds} = await open(model, threads, {enableProfiling: true, profileFilePrefix: prefix});
  for (let i = 0; i < 10 + runs; i++) await session.run(feeds);
  session.endProfiling(); /* writes PREFIX_<date>.json */
  const file = fs.readdirSync(dir).find(f => f.endsWith('.json'));
  const events = JSON.parse(fs.readFileSync(path.join(dir, file)));
  fs.rmSync(dir, {recursive: true});
  const times = new Map();
  for (const e of events)
    if (e.cat === 'Node' && e.name.endsWith('_kernel_time')) {
      const name = e.name.slice(0, -'_kernel_time'.length);
      if (!times.has(name)) times.set(name, []);
      times.get(name).push(e.dur / 1000);
    }
  for (const [name, t] of times) {
    const s = t.slice(10).sort((a, b) => a - b);
    console.log(`ort-node ${name}\t${(s.length ? s[Math.floor(s.length / 2)] : 0).toFixed(4)}`);
  }
}
main().catch(e => { console.error(e); process.exit(1); });
