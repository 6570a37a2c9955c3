// tfjs-run.mjs: runs a TF.js graph model on a raw float32 input with TF.js itself and writes the
// named outputs as raw float32 files, so that Quorum's engine can be checked against it.
//   node tfjs-run.mjs MODEL.json INPUT.f32 D0,D1,D2,D3 OUT_DIR [cpu|wasm] [REPEAT] OUTPUT_NAME…
// With REPEAT > 0 it also times REPEAT runs (after one warm-up) and prints "ms_per_run N", their median.
import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';
import path from 'node:path';

const [modelPath, inputPath, shapeText, outDir, backend = 'cpu', repeatText = '0', ...outputs] = process.argv.slice(2);
if (backend === 'wasm') {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const dir = path.dirname(new URL(import.meta.resolve('@tensorflow/tfjs-backend-wasm')).pathname);
  wasm.setWasmPaths(dir + '/');
}
await tf.setBackend(backend);
await tf.ready();

const model = JSON.parse(fs.readFileSync(modelPath, 'utf8'));
const dir = path.dirname(modelPath);
const specs = model.weightsManifest.flatMap((group) => group.weights);
const shards = model.weightsManifest.flatMap((group) => group.paths).map((p) => fs.readFileSync(path.join(dir, p)));
const weights = Buffer.concat(shards);
const graph = await tf.loadGraphModel(tf.io.fromMemory({
  modelTopology: model.modelTopology,
  weightSpecs: specs,
  weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
  signature: model.signature,
}));

const shape = shapeText.split(',').map(Number);
const raw = fs.readFileSync(inputPath);
const input = tf.tensor(new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4), shape);
const inputName = graph.inputs[0].name;
const names = outputs.length > 0 ? outputs : graph.outputs.map((o) => o.name);
const run = () => graph.execute({ [inputName]: input }, names);

let results = run();
results = Array.isArray(results) ? results : [results];
fs.mkdirSync(outDir, { recursive: true });
for (let i = 0; i < names.length; i++) {
  const file = path.join(outDir, names[i].replace(/[/:]/g, '_') + '.f32');
  fs.writeFileSync(file, Buffer.from((await results[i].data()).buffer));
  fs.writeFileSync(file + '.shape', results[i].shape.join(','));
}
tf.dispose(results);

const repeat = Number(repeatText);
if (repeat > 0) {
  const times = [];
  for (let r = 0; r < repeat; r++) {
    const start = process.hrtime.bigint();
    const out = run();
    const list = Array.isArray(out) ? out : [out];
    for (const t of list) await t.data();
    tf.dispose(list);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  const ms = times[Math.floor(times.length / 2)];
  console.log(`ms_per_run ${ms.toFixed(2)} backend ${tf.getBackend()}`);
}
