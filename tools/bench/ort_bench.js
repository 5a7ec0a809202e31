// Serves timed runs of one ONNX model on ONNX Runtime (npm's onnxruntime-node)
// to //tools/bench:compare_engines, which interleaves them with its own runs:
//
//   node ort_bench.js ORT_PACKAGE_DIR MODEL.onnx DIMS THREADS
//
// DIMS is the input shape, comma-separated (e.g. 1,3,224,224); the input is
// uniform [-1, 1). ONNX Runtime runs at its defaults for speed (all graph
// optimisations, intra-op threads = THREADS, sequential execution). After the
// session is created it prints "ready <onnxruntime version>"; then for each
// line "run" on stdin it runs once and prints the run's wall time in ms
// (process.hrtime around session.run). Errors go to stderr, exit code 1.
'use strict';
const readline = require('readline');

async function main() {
  const [ortDir, modelPath, dimsText, threadsText] = process.argv.slice(2);
  if (threadsText === undefined) {
    throw new Error('usage: ort_bench.js ORT_PACKAGE_DIR MODEL.onnx DIMS THREADS');
  }
  const ort = require(ortDir);
  const dims = dimsText.split(',').map(Number);
  const threads = Number(threadsText);
  const session = await ort.InferenceSession.create(modelPath, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
  });
  const size = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  for (let i = 0; i < size; ++i) data[i] = Math.random() * 2 - 1;
  const feeds = {[session.inputNames[0]]: new ort.Tensor('float32', data, dims)};
  console.log(`ready ${ort.env.versions ? ort.env.versions.common : 'unknown'}`);
  const lines = readline.createInterface({input: process.stdin});
  for await (const line of lines) {
    if (line.trim() !== 'run') throw new Error(`unknown command '${line}'`);
    const start = process.hrtime.bigint();
    await session.run(feeds);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    console.log(ms.toFixed(6));
  }
}

main().catch((error) => {
  console.error(`ort_bench.js: ${error.stack || error}`);
  process.exit(1);
});
