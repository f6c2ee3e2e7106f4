// What the rest of the system knows of a model in the library (HEARTH_MODELS) or named on the command line:
// where its file is, the facts its header gives (no weights read), and the preset `hearth create` stored with it.

/** Defaults a preset applies to every request for the model (an Ollama Modelfile's SYSTEM and PARAMETER lines). */
export interface ModelPreset {
  /** The model the preset was made from (its library name). */
  from: string;
  /** The system prompt used when a request has none. */
  system?: string;
  /** Default options in Ollama's names (temperature, top_k, top_p, min_p, num_ctx, num_predict, seed, stop, …). */
  parameters?: Record<string, unknown>;
}

export interface LibraryModel {
  /** The name clients use: "NAME:TAG", "hf.co/OWNER/REPO:QUANT", or a dropped-in file's name without .gguf. */
  name: string;
  /** The GGUF file (the first part of a split model). */
  path: string;
  /** Every file of the model (one, or each part of a split GGUF in order). */
  parts: string[];
  /** Bytes on disk, all parts together. */
  size: number;
  /** sha256 of the file (hex), where known (pulled with a digest, or hashed on first sight). */
  sha256?: string;
  /** Where it came from ("hf.co/…", "https://…", "ollama.com/library/…"), or undefined for a dropped-in file. */
  source?: string;
  arch?: string;
  paramCount?: number;
  /** "Q4_K_M", "Q8_0", "F16", … (general.file_type). */
  quantization?: string;
  /** The context the model was trained for. */
  contextLength?: number;
  /** When it was pulled, created or first seen. */
  addedAt: Date;
  /** When its file last changed. */
  modifiedAt: Date;
  preset?: ModelPreset;
  /**
   * A name the gateway answers (src/provider/gateway/): `provider/model`, or an alias, with its routes in fallback
   * order. Such an entry has no file: path and parts are empty.
   */
  upstream?: { route: { provider: string; model: string }[]; alias?: boolean };
}

/** The models a server may load, by name. */
export interface ModelSource {
  /** Every model, sorted by name. */
  list(): LibraryModel[];
  /** The model `name` names ("x" and "x:latest" are one name; case-insensitive), if any. */
  get(name: string): LibraryModel | undefined;
  /** Brings lists fetched from elsewhere up to date (the gateway's upstream model lists), before list() is read. */
  refresh?(): Promise<void>;
  /** The source this one extends (the library under the gateway's names). */
  readonly base?: ModelSource;
}
