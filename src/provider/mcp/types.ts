// What the MCP client gives the rest of Hearth: a server's tools and a call's result, in Hearth's own shapes.

export interface McpTool {
  name: string;
  description?: string;
  /** The tool's JSON schema for its arguments. */
  inputSchema: Record<string, unknown>;
  annotations?: Record<string, unknown>;
}

export interface McpToolResult {
  /** The result as the model reads it (capped by the server's max_output). */
  text: string;
  /** The tool reported an error (its own, not a failure of the server). */
  isError: boolean;
  durationMs: number;
}

/** One MCP tool call Hearth made, as streamed and as recorded in the audit. */
export interface McpCallRecord {
  id: string;
  server: string;
  name: string;
  /** JSON text, as the model wrote it. */
  arguments: string;
  output?: string;
  /** A tool's own error, or why the server failed. */
  error?: string;
  durationMs: number;
}
