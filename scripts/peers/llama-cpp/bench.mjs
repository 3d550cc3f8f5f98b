// Peer measurement for docs/BENCHMARKS.md: llama.cpp (the prebuilt CPU libraries that node-llama-cpp ships on npm)
// on a synthetic GGUF model written by `./conduit bench`, with the same prompt length and decode steps.
//   npm install --ignore-scripts && node bench.mjs MODEL.gguf [threads=2] [prompt=128] [decode=64]
// Prints one JSON line per run (after one warm-up run): prefill tok/s for the prompt in one evaluation, and
// greedy batch-1 decode tok/s. Decode goes through node-llama-cpp's token iterator, so it includes a JS <-> native
// hop and llama.cpp's sampler per token (small next to a 100+ MB weight read, visible on tiny models).
import {getLlama} from "node-llama-cpp";
import {basename} from "node:path";

const [modelPath, threadsArg, promptArg, decodeArg] = process.argv.slice(2);
if (!modelPath) {
    console.error("usage: node bench.mjs MODEL.gguf [threads] [prompt tokens] [decode tokens]");
    process.exit(2);
}
const threads = Number(threadsArg ?? 2), promptLen = Number(promptArg ?? 128), decode = Number(decodeArg ?? 64);
const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
const model = await llama.loadModel({modelPath, gpuLayers: 0});

async function run() {
    const context = await model.createContext({contextSize: promptLen + decode + 16, threads, batchSize: 512});
    const sequence = context.getSequence();
    // Arbitrary in-vocabulary ids: the weights are random, only speed means anything.
    const prompt = Array.from({length: promptLen}, (_, i) => 100 + (i * 7919) % 30000);
    const tokens = sequence.evaluate(prompt, {temperature: 0});
    let t0 = performance.now();
    await tokens.next(); // the whole prompt in one evaluation, then the first sampled token
    const prefillMs = performance.now() - t0;
    let n = 0;
    t0 = performance.now();
    while (n < decode && !(await tokens.next()).done) n++;
    const decodeMs = performance.now() - t0;
    await tokens.return();
    await context.dispose();
    return {prefill_tok_s: +(promptLen / (prefillMs / 1000)).toFixed(1), decode_tok_s: +(n / (decodeMs / 1000)).toFixed(1)};
}

await run();
for (let i = 0; i < 3; i++) {
    console.log(JSON.stringify({peer: "llama.cpp (node-llama-cpp 3.22.1)", model: basename(modelPath), threads,
        prefill_tokens: promptLen, ...(await run())}));
}
await model.dispose();
