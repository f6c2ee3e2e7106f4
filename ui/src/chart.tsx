// A small SVG line chart: one line per series over shared x values, axes with a few labels, a legend, and the
// figures as a table for screen readers (the picture itself is one labelled image).

export interface Series { name: string; values: number[] }

const COLORS = 6;

function niceMax(n: number): number {
  if (n <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 5, 10]) if (n <= m * p) return m * p;
  return 10 * p;
}

export function LineChart({ title, xs, series, format = (x) => String(x), unit = '' }: {
  title: string; xs: number[]; series: Series[]; format?: (x: number) => string; unit?: string;
}) {
  const W = 600, H = 200, L = 44, R = 8, T = 10, B = 24;
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  const x = (i: number) => L + (xs.length <= 1 ? (W - L - R) / 2 : (i / (xs.length - 1)) * (W - L - R));
  const y = (v: number) => T + (1 - v / max) * (H - T - B);
  const ticks = [0, max / 2, max];
  const labelAt = xs.length > 1 ? [0, Math.floor((xs.length - 1) / 2), xs.length - 1] : xs.length ? [0] : [];
  const figure = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(1));
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${title}: ${series.map((s) => `${s.name} up to ${figure(Math.max(0, ...s.values))}${unit}`).join('; ') || 'no data'}`}>
        {ticks.map((t) => (
          <g>
            <line x1={L} x2={W - R} y1={y(t)} y2={y(t)} class="grid" />
            <text x={L - 6} y={y(t) + 4} text-anchor="end" class="axis">{figure(t)}</text>
          </g>
        ))}
        {labelAt.map((i) => <text x={x(i)} y={H - 6} text-anchor="middle" class="axis">{format(xs[i]!)}</text>)}
        {series.map((s, k) => s.values.length === 1
          ? <circle cx={x(0)} cy={y(s.values[0]!)} r="3" class={`dot s${k % COLORS}`} />
          : <polyline class={`line s${k % COLORS}`} points={s.values.map((v, i) => `${x(i)},${y(v)}`).join(' ')} />)}
      </svg>
      <ul class="legend">
        {series.map((s, k) => <li><span class={`swatch s${k % COLORS}`} aria-hidden="true" />{s.name}</li>)}
      </ul>
      {xs.length > 0 && (
        <details class="chart-data"><summary>Figures</summary>
          <div class="table-wrap"><table>
            <thead><tr><th scope="col">Time</th>{series.map((s) => <th scope="col">{s.name}</th>)}</tr></thead>
            <tbody>{xs.map((t, i) => <tr><th scope="row">{format(t)}</th>{series.map((s) => <td>{figure(s.values[i] ?? 0)}</td>)}</tr>)}</tbody>
          </table></div>
        </details>
      )}
    </figure>
  );
}
