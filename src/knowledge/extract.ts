// The text of an uploaded file, by kind: PDF (unpdf: pdf.js's text layer, pure JavaScript), HTML (tags stripped,
// script/style dropped, entities decoded), and everything else that is UTF-8 text (plain text, Markdown, source
// code) as it is. A file that is empty, binary, not UTF-8, or a PDF that cannot be read is an ExtractError,
// which the ingest job records as the file's `last_error`.

export type ExtractErrorCode = 'invalid_file' | 'unsupported_file';

export class ExtractError extends Error {
  readonly code: ExtractErrorCode;
  constructor(code: ExtractErrorCode, message: string) {
    super(message);
    this.name = 'ExtractError';
    this.code = code;
  }
}

export type FileKind = 'pdf' | 'html' | 'text';

const HTML_EXT = /\.(html?|xhtml)$/i;

export function fileKind(filename: string, bytes: Uint8Array): FileKind {
  if (/\.pdf$/i.test(filename) || (bytes.length >= 5 && Buffer.from(bytes.subarray(0, 5)).toString('latin1') === '%PDF-')) return 'pdf';
  if (HTML_EXT.test(filename)) return 'html';
  const head = Buffer.from(bytes.subarray(0, 512)).toString('utf8').trimStart().toLowerCase();
  if (head.startsWith('<!doctype html') || head.startsWith('<html')) return 'html';
  return 'text';
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** The visible text of an HTML document: block elements become line breaks, the rest of the markup goes. */
export function htmlText(html: string): string {
  return html
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(script|style|noscript|template)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<\/?(p|div|br|li|ul|ol|h[1-6]|tr|table|section|article|header|footer|pre|blockquote)\b[^>]*>/gi, '\n')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
      if (e[0] === '#') {
        const cp = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
        return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
      }
      return ENTITIES[e.toLowerCase()] ?? m;
    })
    .replace(/[ \t\f\v]+/g, ' ')
    .replace(/\s*\n\s*/g, '\n')
    .trim();
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function utf8Text(bytes: Uint8Array): string {
  if (bytes.subarray(0, 8192).includes(0)) throw new ExtractError('unsupported_file', 'the file is binary (it has NUL bytes), not text, Markdown, HTML, code or PDF');
  try {
    return utf8.decode(bytes);
  } catch {
    throw new ExtractError('unsupported_file', 'the file is not UTF-8 text, nor HTML, code or PDF');
  }
}

async function pdfText(bytes: Uint8Array): Promise<string> {
  const { extractText, getDocumentProxy } = await import('unpdf');
  try {
    const pdf = await getDocumentProxy(new Uint8Array(bytes));
    const { text } = await extractText(pdf, { mergePages: true });
    return text;
  } catch (e) {
    throw new ExtractError('invalid_file', `the PDF cannot be read: ${(e as Error).message}`);
  }
}

/** The file's text; throws ExtractError when there is none to index. */
export async function extractText(filename: string, bytes: Uint8Array): Promise<string> {
  if (bytes.length === 0) throw new ExtractError('invalid_file', 'the file is empty');
  const kind = fileKind(filename, bytes);
  const text = kind === 'pdf' ? await pdfText(bytes) : kind === 'html' ? htmlText(utf8Text(bytes)) : utf8Text(bytes);
  if (!/\S/.test(text)) throw new ExtractError('invalid_file', kind === 'pdf' ? 'the PDF has no text layer (scanned pages need OCR)' : 'the file has no text');
  return text;
}
