// The knowledge base's seams: what it needs from an embedding model (Embedder) and where its vectors are
// searched (VectorIndex). The knowledge base talks to a model through Embedder only, so any provider that
// embeds (a local bert-family model, an upstream's /v1/embeddings) can stand behind it.

/** An embedding model as the knowledge base uses it. */
export interface Embedder {
  /** The model's name, as a vector store records it. */
  readonly model: string;
  /** The most tokens one input may have (the model's context, less its special tokens). */
  readonly maxTokens: number;
  /** The number of tokens the model's tokenizer makes of `text` (no special tokens). */
  countTokens(text: string): number;
  /** One vector per text, in order. */
  embed(texts: string[], signal?: AbortSignal): Promise<Float32Array[]>;
}

/** A lease on an embedder for one piece of work; release() when it is done. */
export interface EmbedderLease {
  embedder: Embedder;
  release(): void;
}

/** Opens the embedder of a named model (loading it when needed). */
export type EmbedderSource = (model: string) => Promise<EmbedderLease>;

/** One hit of a nearest-neighbour search: a chunk's row id and its cosine similarity to the query. */
export interface VectorHit {
  id: number;
  score: number;
}

/**
 * The vectors of one vector store and k-nearest-neighbour search over them by cosine similarity: exact (the
 * TypeScript scan, sqlite-vec) or approximate (LanceDB's IVF index on a large store). `allow` restricts the
 * candidates (attribute filters), applied before ranking, so the top k are the top k of what passes. An index
 * kept outside SQLite answers with a promise.
 */
export interface VectorIndex {
  search(storeId: string, query: Float32Array, k: number, allow?: (fileId: string) => boolean): VectorHit[] | Promise<VectorHit[]>;
  /** Drops what the index holds for a store (called after its chunks change). */
  invalidate(storeId: string): void;
  /** Finishes the index's background work (the knowledge base's close() calls it). */
  close?(): Promise<void>;
}
