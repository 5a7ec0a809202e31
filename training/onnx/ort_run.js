// Runs an ONNX model on ONNX Runtime (npm's onnxruntime-node) for
// torch_export_test, which compares the result with LibTorch:
//
//   node ort_run.js ORT_PACKAGE_DIR MODEL.onnx INPUT.f32 N,C,H,W OUTPUT_NAME OUTPUT.f32
//
// INPUT.f32 holds N*C*H*W little-endian float32 values, fed as "input";
// OUTPUT.f32 receives the output OUTPUT_NAME ("-": the first) the same way.
// Graph optimisations
// are off so that ONNX Runtime evaluates the nodes as exported. Prints one
// JSON line (dims, versions); exits non-zero with the error on stderr.
'use strict';
const fs = require('fs');

async function main() {
  const [ortDir, modelPath, inputPath, dimsText, outputName, outputPath] = process.argv.slice(2);
  if (outputPath === undefined) {
    throw new Error(
        'usage: ort_run.js ORT_PACKAGE_DIR MODEL.onnx INPUT.f32 N,C,H,W OUTPUT_NAME OUTPUT.f32');
  }
  const ort = require(ortDir);
  const dims = dimsText.split(',').map(Number);
  const bytes = fs.readFileSync(inputPath);
  // A copy: Float32Array needs a 4-byte aligned offset, which a Buffer may not have.
  const input =
      new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  const expected = dims.reduce((a, b) => a * b, 1);
  if (input.length !== expected) {
    throw new Error(`${inputPath}: ${input.length} floats, dims ${dimsText} need ${expected}`);
  }
  const session = await ort.InferenceSession.create(modelPath, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'disabled',
    intraOpNumThreads: 1,
  });
  const results = await session.run({input: new ort.Tensor('float32', input, dims)});
  const output = results[outputName === '-' ? session.outputNames[0] : outputName];
  if (output === undefined) {
    throw new Error(`${modelPath}: no output '${outputName}' (outputs: ${session.outputNames})`);
  }
  const data = output.data;
  fs.writeFileSync(outputPath, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  const versions = ort.env.versions;
  console.log(JSON.stringify({output: outputName, dims: output.dims, onnxruntime: versions}));
}

main().catch((error) => {
  console.error(`ort_run.js: ${error.stack || error}`);
  process.exit(1);
});
