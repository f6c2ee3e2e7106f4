// Image encode time of a CLIP-ViT-L/336-shaped vision encoder (1024 wide, 24 layers, 16 heads, FFN 4096, 336 px in
// 14 px patches: 576 patches + a class row; LLaVA-1.5's mlp projector 1024 → 4096 → the language model's width;
// synthetic seeded f16 weights from test/fixtures/synthetic-mmproj.ts): Hearth's cpu backend against llama.cpp's mtmd
// (@fugood/llama.node, its own reported "image slice encoded in" time) on the same mmproj file and thread count.
// The language model is a small synthetic llama (only its width matters to the encoder).
// Usage: node bench/vision.ts [--rounds 3] [--quick]   (writes "## Vision encode (CLIP-ViT-L/336-shaped)" of BENCHMARKS.md)
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { REPO_ROOT, sharedPath } from '../test/shared.ts';
import { syntheticModelPath } from '../test/fixtures/synthetic-model.ts';
import { syntheticMmprojPath } from '../test/fixtures/synthetic-mmproj.ts';
import { mtmdUnavailableReason, runMtmd } from '../test/reference/mtmd.ts';
import { loadModel } from '../src/engine/load.ts';
import { VisionModel } from '../src/engine/vision/mmproj.ts';
import { decodeImage } from '../src/engine/vision/decode.ts';
import { machineDescription, writeSection } from './benchmarks-md.ts';
import { readFileSync } from 'node:fs';

const HEADING = '## Vision encode (CLIP-ViT-L/336-shaped)';
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, quick: { type: 'boolean', default: false } } });
const rounds = Number(values.rounds);
const LM = { nEmbd: 128, nLayer: 1, nHead: 4, nHeadKv: 4, nFF: 256 } as const;
const shape = values.quick
  ? { imageSize: 112, patchSize: 14, nEmbd: 256, nHead: 4, nFF: 1024, nLayer: 4, nHidden: 1024 }
  : { imageSize: 336, patchSize: 14, nEmbd: 1024, nHead: 16, nFF: 4096, nLayer: 24, nHidden: 4096 };
const mmproj = syntheticMmprojPath({ ...shape, nEmbdOut: LM.nEmbd, weightType: 'F16', useGelu: false });
const lm = syntheticModelPath(LM);
const imagePath = sharedPath('images', 'test-1.jpeg');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const model = loadModel(lm, { backend: 'cpu', threads: 2, nCtx: 1024 });
const vision = VisionModel.load(mmproj, LM.nEmbd, model.backend);
const img = await decodeImage(readFileSync(imagePath));
const hearth: number[] = [];
for (let r = 0; r < rounds + 1; r++) {
  const t0 = performance.now();
  await vision.encodeRgb(img);
  if (r > 0) hearth.push(performance.now() - t0); // the first round warms up
}
model.dispose();
const reason = mtmdUnavailableReason();
const llama: number[] = [];
if (reason === null) {
  for (let r = 0; r < rounds; r++) {
    const a = runMtmd({ model: lm, mmproj, prompt: 'USER: <__media__>\nASSISTANT:', images: [imagePath], nPredict: 1, nCtx: 1024, threads: 2, timeoutMs: 1_200_000 });
    if (a.encodeMs !== undefined) llama.push(a.encodeMs);
  }
}
const fmt = (xs: number[]) => (xs.length ? `${median(xs).toFixed(0)}` : 'n/a');
const lines = [
  `${machineDescription()}; 2 threads; median of ${rounds} encodes of llama.cpp's test-1.jpeg (640×488, fitted into ${shape.imageSize}²), after one warm-up for Hearth.`,
  `mmproj: ${shape.nLayer} layers (${shape.nLayer - 1} run, as llava takes the layer before the last), ${shape.nEmbd} wide, ${shape.nHead} heads, FFN ${shape.nFF}, quick GELU, f16 weights; ${(shape.imageSize / shape.patchSize) ** 2} patches.`,
  '',
  '| encoder | Hearth cpu (ms) | llama.cpp mtmd (ms) | llama.cpp / Hearth |',
  '| --- | ---: | ---: | ---: |',
  `| CLIP-ViT-L/336-shaped, mlp projector | ${fmt(hearth)} | ${fmt(llama)} | ${llama.length ? (median(llama) / median(hearth)).toFixed(2) : 'n/a'} |`,
  '',
  reason ? `llama.cpp: ${reason}.` : 'llama.cpp: `@fugood/llama.node` 1.7.15 (llama.cpp build 10257), CPU, its "image slice encoded in" time (the encoder graph only; decode and preprocessing excluded, as in Hearth\'s number).',
  'Hearth\'s time includes preprocessing (resize, normalise) and the quick GELU applied on the host. SigLIP-400M/896 (gemma3) is not measured: Hearth has no gemma3 projector yet.',
];
console.log(lines.join('\n'));
if (!values.quick) writeSection(join(REPO_ROOT, 'BENCHMARKS.md'), HEADING, lines.join('\n'));
