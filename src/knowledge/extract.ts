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

const BLOCK_TAGS = new Set(['p', 'div', 'br', 'li', 'ul', 'ol', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'tr', 'table', 'section', 'article', 'header', 'footer', 'pre', 'blockquote']);
const RAW_TAGS = new Set(['script', 'style', 'noscript', 'template']);

function isNameChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

function isSpace(c: string | undefined): boolean {
  return c !== undefined && c.trim() === '';
}

/**
 * The visible text of an HTML document: comments, script/style/noscript/template bodies and tags go, block
 * elements become line breaks, entities are decoded. One pass with indexOf, linear in the document (an uploaded
 * file may be large and hostile, so no backtracking regex over it); a `<` without a `>` stays as text.
 */
export function htmlText(html: string): string {
  const out: string[] = [];
  const closeAt = new Map<string, number>(); // per raw tag: the last closing tag found, or -1 when there is none further on
  const n = html.length;
  let i = 0;
  while (i < n) {
    const lt = html.indexOf('<', i);
    if (lt < 0) {
      out.push(html.slice(i));
      break;
    }
    out.push(html.slice(i, lt));
    if (html.startsWith('<!--', lt)) {
      const end = html.indexOf('-->', lt + 4);
      out.push(' ');
      i = end < 0 ? n : end + 3;
      continue;
    }
    const gt = html.indexOf('>', lt + 1);
    if (gt < 0) {
      out.push(html.slice(lt));
      break;
    }
    const closing = html[lt + 1] === '/';
    let e = lt + (closing ? 2 : 1);
    while (e < gt && isNameChar(html.charCodeAt(e))) e++;
    const name = html.slice(lt + (closing ? 2 : 1), e).toLowerCase();
    i = gt + 1;
    if (!closing && RAW_TAGS.has(name)) {
      const end = rawClose(html, name, i, closeAt);
      if (end >= 0) {
        out.push(' ');
        i = end;
        continue;
      }
    }
    out.push(BLOCK_TAGS.has(name) ? '\n' : ' ');
  }
  const text = out
    .join('')
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, ent: string) => {
      if (ent[0] === '#') {
        const cp = ent[1] === 'x' || ent[1] === 'X' ? parseInt(ent.slice(2), 16) : parseInt(ent.slice(1), 10);
        return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
      }
      return ENTITIES[ent.toLowerCase()] ?? m;
    })
    .replace(/[ \t\f\v]+/g, ' ');
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .join('\n');
}

/** Where the text after `</name\s*>` begins, searching from `from`; -1 when no such closing tag follows. */
function rawClose(html: string, name: string, from: number, closeAt: Map<string, number>): number {
  const known = closeAt.get(name);
  if (known !== undefined && (known < 0 || known >= from)) return known;
  let j = from;
  for (;;) {
    const k = html.indexOf('</', j);
    if (k < 0) {
      closeAt.set(name, -1);
      return -1;
    }
    j = k + 2;
    if (html.slice(j, j + name.length).toLowerCase() !== name) continue;
    let m = j + name.length;
    while (isSpace(html[m])) m++;
    if (html[m] === '>') {
      closeAt.set(name, m + 1);
      return m + 1;
    }
  }
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
