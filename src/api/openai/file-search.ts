// The Responses API's file_search tool on the wire: the passages retrieved for a request as prompt text, the
// `file_search_call` output item, and `file_citation` annotations on the answer's output text.

import type { ResponseObject } from './responses-output.ts';

export interface RetrievedPassage {
  fileId: string;
  filename: string;
  score: number;
  text: string;
  attributes: Record<string, string | number | boolean>;
}

/** The passages as the model reads them: numbered, each with its file name, after the request's own instructions. */
export function passagesPrompt(instructions: string | undefined, passages: readonly RetrievedPassage[]): string {
  const head = passages.length
    ? 'Answer from these passages of the knowledge base where they are relevant, and name the file you use.'
    : 'The knowledge base search found no passages for this question.';
  const body = passages.map((p, i) => `[${i + 1}] ${p.filename}\n${p.text}`).join('\n\n');
  return [instructions, head, body].filter((s) => s !== undefined && s !== '').join('\n\n');
}

/**
 * The response with a completed `file_search_call` item first (its `results` when `include` asked for them, else
 * null) and, on each output_text part, one `file_citation` per file the passages came from, placed at the end of
 * the text (the model's answer is not parsed for where it used them).
 */
export function withFileSearch(r: ResponseObject, callId: string, queries: string[], passages: readonly RetrievedPassage[],
  includeResults = false): ResponseObject {
  const call = {
    id: callId, type: 'file_search_call', status: 'completed', queries,
    results: includeResults ? passages.map((p) => ({ file_id: p.fileId, filename: p.filename, score: p.score, text: p.text, attributes: p.attributes })) : null,
  };
  const files = [...new Map(passages.map((p) => [p.fileId, p.filename])).entries()];
  const output = (r.output as unknown as Record<string, unknown>[]).map((item) => {
    if (item.type !== 'message' || !Array.isArray(item.content)) return item;
    return {
      ...item,
      content: (item.content as Record<string, unknown>[]).map((part) => part.type !== 'output_text' ? part : {
        ...part,
        annotations: [...(part.annotations as unknown[] ?? []),
          ...files.map(([file_id, filename]) => ({ type: 'file_citation', index: String(part.text ?? '').length, file_id, filename }))],
      }),
    };
  });
  return { ...r, output: [call, ...output] as unknown as ResponseObject['output'] };
}
