// The LLaVA-1.5 path (a `clip` mmproj with the `mlp` projector) against llama.cpp's mtmd through @fugood/llama.node:
// a synthetic random-weight mmproj and language model written by Hearth's writer, the same image and prompt, the
// same greedy tokens, and the first token's probabilities close. Images: llama.cpp's test image (JPEG), and PNGs made
// here of odd sizes, with an alpha channel, grayscale, and one of exactly the encoder's size (no resize).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { loadModel } from '../../src/engine/load.ts';
import { VisionModel } from '../../src/engine/vision/mmproj.ts';
import { evalChunks, type PromptChunk } from '../../src/engine/vision/prompt.ts';
import { REPO_ROOT, sharedPath } from '../shared.ts';
import { syntheticModelPath } from '../fixtures/synthetic-model.ts';
import { syntheticMmprojPath, type SyntheticMmprojOptions } from '../fixtures/synthetic-mmproj.ts';
import { requireMtmd, runMtmd } from '../reference/mtmd.ts';

const MARKER = '<__media__>';
const PROMPT = `USER: ${MARKER}\nWhat is in the picture? ASSISTANT:`;
const N_PREDICT = 12;
const DIR = join(REPO_ROOT, 'test', '.cache', 'vision');

const LM = { nEmbd: 128, nLayer: 2, nHead: 4, nHeadKv: 4, nFF: 256 } as const;

/** A PNG of w × h with `channels` (1 gray, 3 RGB, 4 RGBA), a smooth pattern plus seeded noise. */
async function makePng(name: string, w: number, h: number, channels: 1 | 3 | 4): Promise<string> {
  const px = Buffer.alloc(w * h * channels);
  let s = 12345;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < channels; c++) {
        s = (Math.imul(s, 1103515245) + 12345) >>> 0;
        const smooth = 127 + 120 * Math.sin((x * (c + 1)) / 7 + y / 5);
        px[(y * w + x) * channels + c] = c === 3 ? (x * 255 / w) | 0 : Math.max(0, Math.min(255, smooth + ((s >>> 24) % 32) - 16)) | 0;
      }
    }
  }
  mkdirSync(DIR, { recursive: true });
  const file = join(DIR, `${name}.png`);
  writeFileSync(file, await sharp(px, { raw: { width: w, height: h, channels } }).png().toBuffer());
  return file;
}

interface Run { pieces: string[]; text: string; firstProbs: Map<string, number> }

async function hearthRun(lmPath: string, mmprojPath: string, image: string): Promise<Run> {
  const model = loadModel(lmPath, { backend: 'cpu', threads: 2, nCtx: 512 });
  try {
    const vision = VisionModel.load(mmprojPath, model.hp.nEmbd, model.backend);
    const tok = model.tokenizer;
    const [before, after] = PROMPT.split(MARKER);
    const img = await vision.encodeImage(readFileSync(image));
    // as mtmd_tokenize: the first text chunk takes the vocabulary's BOS, the later ones none
    const chunks: PromptChunk[] = [
      { kind: 'tokens', tokens: tok.encode(before, { parseSpecial: true }) },
      { kind: 'image', rows: img.rows, nTokens: img.nTokens },
      { kind: 'tokens', tokens: tok.encode(after, { addBos: false, parseSpecial: true }) },
    ];
    const cache = model.createCache(512);
    let logits = await evalChunks(model.forward, cache, chunks);
    let pos = chunks.reduce((n, c) => n + (c.kind === 'tokens' ? c.tokens.length : c.nTokens), 0);
    const firstProbs = new Map<string, number>();
    {
      let max = -Infinity;
      for (const v of logits) max = Math.max(max, v);
      let sum = 0;
      for (const v of logits) sum += Math.exp(v - max);
      const order = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a]).slice(0, 5);
      for (const id of order) firstProbs.set(tok.tokenToPiece(id), Math.exp(logits[id] - max) / sum);
    }
    const ids: number[] = [];
    for (let i = 0; i < N_PREDICT; i++) {
      let best = 0;
      for (let v = 1; v < logits.length; v++) if (logits[v] > logits[best]) best = v;
      ids.push(best);
      if (tok.isEog(best)) break;
      logits = await model.forward.forwardAsync([best], pos++, cache);
    }
    cache.dispose();
    return { pieces: ids.map((id) => tok.tokenToPiece(id)), text: tok.decode(ids), firstProbs };
  } finally {
    model.dispose();
  }
}

const IMAGES: [string, () => Promise<string>][] = [
  ['llama.cpp test-1.jpeg (640×488)', async () => sharedPath('images', 'test-1.jpeg')],
  ['RGB 70×45 (odd, wide)', () => makePng('rgb-70x45', 70, 45, 3)],
  ['RGBA 33×61 (alpha dropped, tall)', () => makePng('rgba-33x61', 33, 61, 4)],
  ['grayscale 20×17 (upscaled)', () => makePng('gray-20x17', 20, 17, 1)],
  ['RGB 56×56 (the encoder\'s size)', () => makePng('rgb-56', 56, 56, 3)],
];

// the second layout: CLIP's quick GELU (no clip.use_gelu), no class row, a post-LN, f16 weights
const VARIANTS: [string, SyntheticMmprojOptions][] = [
  ['gelu, class row, pre-LN, f32', {}],
  ['quick gelu, no class row, post-LN, f16', { useGelu: false, classToken: false, postLn: true, weightType: 'F16' }],
];

for (const [vname, variant] of VARIANTS) for (const [name, image] of vname === VARIANTS[0][0] ? IMAGES : IMAGES.slice(0, 2)) {
  test(`llava mlp projector (${vname}): greedy tokens as llama.cpp mtmd for ${name}`, async (t) => {
    if (!requireMtmd(t)) return;
    const lm = syntheticModelPath(LM);
    const mmproj = syntheticMmprojPath({ nEmbdOut: LM.nEmbd, ...variant });
    const file = await image();
    const want = runMtmd({ model: lm, mmproj, prompt: PROMPT, images: [file], nPredict: N_PREDICT, nProbs: 5 });
    const got = await hearthRun(lm, mmproj, file);
    t.diagnostic(`llama.cpp: ${JSON.stringify(want.pieces)}; first-token probs ${JSON.stringify(want.probs)}`);
    t.diagnostic(`hearth:    ${JSON.stringify(got.pieces)}; first-token probs ${JSON.stringify([...got.firstProbs])}`);
    assert.deepEqual(got.pieces, want.pieces);
    for (const { piece, prob } of want.probs) {
      const mine = got.firstProbs.get(piece);
      assert.ok(mine !== undefined, `llama.cpp's top token ${JSON.stringify(piece)} is not in Hearth's top 5`);
      assert.ok(Math.abs(mine - prob) < 0.02, `p(${JSON.stringify(piece)}): hearth ${mine}, llama.cpp ${prob}`);
    }
  });
}
