// A node:test reporter that prints the slowest test files when the run ends (used by scripts/test.js beside
// the spec reporter). A file's time is the sum of its top-level tests' durations.
const SHOW = Number(process.env.HEARTH_SLOWEST ?? 10);

export default async function* slowest(source) {
  const perFile = new Map();
  for await (const event of source) {
    if ((event.type === 'test:pass' || event.type === 'test:fail') && event.data.nesting === 0 && event.data.file) {
      const ms = event.data.details?.duration_ms ?? 0;
      perFile.set(event.data.file, (perFile.get(event.data.file) ?? 0) + ms);
    }
  }
  const rows = [...perFile].sort((a, b) => b[1] - a[1]).slice(0, SHOW);
  if (rows.length === 0) return;
  const cwd = process.cwd() + '/';
  yield `\nslowest ${rows.length} test files:\n`;
  for (const [file, ms] of rows) {
    yield `  ${(ms / 1000).toFixed(1).padStart(7)} s  ${file.startsWith(cwd) ? file.slice(cwd.length) : file}\n`;
  }
}
