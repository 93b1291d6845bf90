// A hand-written SVG of the run: a scorecard of the targets, then one small chart per measurement.
import type { Figure } from './report.js';

export interface Series {
  name: string;
  values: (number | null)[];
}

export interface BarPanel {
  kind: 'bars';
  title: string;
  unit: string;
  categories: string[];
  series: Series[];
  /** Draw the value axis on a log scale (for series that span orders of magnitude). */
  log?: boolean;
}

export interface LinePanel {
  kind: 'line';
  title: string;
  xLabel: string;
  unit: string;
  series: { name: string; points: [number, number][] }[];
}

export type Panel = BarPanel | LinePanel;

export interface ChartInput {
  title: string;
  subtitle: string;
  figures: Figure[];
  panels: Panel[];
}

const WIDTH = 1000;
const PANEL_W = 480;
// Two panels side by side: 20 + 480 + 13 + 480 + 7 = 1000.
const PANEL_H = 250;
const GAP = 13;
const COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1'];
const FONT = 'font-family="Helvetica, Arial, sans-serif"';

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fmt(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 10_000) return `${Math.round(value / 1000)}k`;
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toPrecision(2);
}

function text(x: number, y: number, content: string, attrs = ''): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${FONT} ${attrs}>${esc(content)}</text>`;
}

/** How much of its target a figure uses: below 1 is within target, whichever way the target points. */
function targetShare(f: Figure): number | null {
  if (f.target === null || f.value === null) return null;
  const { op, value: target } = f.target;
  const value = Math.max(0, f.value);
  if (op === '<=') return target === 0 ? (value === 0 ? 0 : 2) : value / target;
  return value === 0 ? 2 : target / value;
}

function clip(value: string, max: number): string {
  return value.length <= max ? value : `${value.slice(0, max - 1)}…`;
}

function scorecard(figures: Figure[], y0: number): { svg: string; height: number } {
  const targeted = figures.filter((f) => f.target !== null);
  const rowH = 20;
  const parts: string[] = [text(20, y0 + 16, 'Targets (bar: share of the target used; the dashed line at 1.0 is the target, shorter is better)', 'font-size="14" font-weight="bold"')];
  const barX = 690;
  const barW = 220;
  const scaleMax = 2;
  const x1 = barX + barW / scaleMax;
  parts.push(text(40, y0 + 36, 'figure', 'font-size="10" fill="#666"'), text(480, y0 + 36, 'measured', 'font-size="10" fill="#666"'), text(580, y0 + 36, 'target', 'font-size="10" fill="#666"'));
  targeted.forEach((f, i) => {
    const y = y0 + 42 + i * rowH;
    const share = targetShare(f);
    const color = f.met ? '#59a14f' : '#e15759';
    parts.push(`<circle cx="28" cy="${y + 7}" r="5" fill="${color}"/>`);
    parts.push(text(40, y + 11, clip(f.name, 78), 'font-size="11"'));
    parts.push(text(480, y + 11, f.value === null ? 'n/a' : `${fmt(f.value)} ${f.unit}`, `font-size="11" font-weight="bold" fill="${color}"`));
    parts.push(text(580, y + 11, f.target!.text, 'font-size="11"'));
    if (share !== null) {
      const w = Math.min(share, scaleMax) * (barW / scaleMax);
      parts.push(`<rect x="${barX}" y="${y}" width="${Math.max(1, w).toFixed(1)}" height="14" fill="${color}" opacity="0.8"/>`);
      parts.push(text(barX + Math.max(1, w) + 4, y + 11, share > scaleMax ? `${fmt(share)}× ▶` : `${fmt(share)}×`, 'font-size="10" fill="#333"'));
    }
  });
  const bottom = y0 + 42 + targeted.length * rowH;
  parts.push(`<line x1="${x1}" y1="${y0 + 38}" x2="${x1}" y2="${bottom}" stroke="#333" stroke-dasharray="4 3"/>`);
  parts.push(text(x1 - 8, y0 + 36, '1.0', 'font-size="10"'));
  return { svg: parts.join('\n'), height: bottom - y0 + 10 };
}

/** Legend items laid out left to right, wrapping; returns the SVG and the rows used. */
function legend(names: string[], x0: number, y0: number, width: number): { svg: string; rows: number } {
  const parts: string[] = [];
  let x = x0;
  let row = 0;
  names.forEach((name, s) => {
    const label = clip(name, 44);
    const w = Math.min(width, label.length * 5.4 + 24);
    if (x + w > x0 + width && x > x0) {
      x = x0;
      row++;
    }
    const y = y0 + row * 13;
    parts.push(`<rect x="${x}" y="${y - 8}" width="9" height="9" fill="${COLORS[s % COLORS.length]}"/>`);
    parts.push(text(x + 13, y, label, 'font-size="9.5"'));
    x += w;
  });
  return { svg: parts.join('\n'), rows: row + 1 };
}

function panelFrame(title: string, unit: string, x0: number, y0: number): string[] {
  return [
    `<rect x="${x0}" y="${y0}" width="${PANEL_W}" height="${PANEL_H}" fill="#fafafa" stroke="#ddd"/>`,
    text(x0 + 10, y0 + 17, clip(title, 50), 'font-size="12.5" font-weight="bold"'),
    text(x0 + PANEL_W - 10, y0 + 17, clip(unit, 30), 'font-size="10" fill="#666" text-anchor="end"'),
  ];
}

function barPanel(panel: BarPanel, x0: number, y0: number): string {
  const parts = panelFrame(panel.title, panel.unit, x0, y0);
  const names = panel.series.map((series) => series.name);
  const rows = legend(names, 0, 0, PANEL_W - 24).rows;
  const key = legend(names, x0 + 12, y0 + PANEL_H - 8 - 13 * (rows - 1), PANEL_W - 24);
  const plotX = x0 + 50;
  const plotY = y0 + 32;
  const plotW = PANEL_W - 65;
  const plotH = PANEL_H - 70 - 13 * key.rows;
  const values = panel.series.flatMap((s) => s.values).filter((v): v is number => v !== null && Number.isFinite(v));
  const max = Math.max(...values, 0) || 1;
  const min = panel.log ? Math.max(Math.min(...values.filter((v) => v > 0)), 1e-9) / 2 : 0;
  const scale = (v: number): number => {
    if (!panel.log) return (Math.max(0, v) / (max * 1.1)) * plotH;
    const lo = Math.log10(min);
    const hi = Math.log10(max * 1.5);
    return ((Math.log10(Math.max(v, min)) - lo) / (hi - lo)) * plotH;
  };
  parts.push(`<line x1="${plotX}" y1="${plotY + plotH}" x2="${plotX + plotW}" y2="${plotY + plotH}" stroke="#999"/>`);
  for (const tick of panel.log ? [min * 2, Math.sqrt(min * 2 * max), max] : [0, max / 2, max]) {
    const ty = plotY + plotH - scale(tick);
    parts.push(`<line x1="${plotX - 3}" y1="${ty}" x2="${plotX + plotW}" y2="${ty}" stroke="#eee"/>`);
    parts.push(text(plotX - 5, ty + 3, fmt(tick), 'font-size="9" text-anchor="end" fill="#666"'));
  }
  const groupW = plotW / Math.max(1, panel.categories.length);
  const barW = Math.min(28, (groupW - 10) / Math.max(1, panel.series.length));
  panel.categories.forEach((category, c) => {
    const gx = plotX + c * groupW + (groupW - barW * panel.series.length) / 2;
    panel.series.forEach((series, s) => {
      const v = series.values[c];
      if (v === null || v === undefined || !Number.isFinite(v)) return;
      const h = Math.max(1, scale(v));
      const bx = gx + s * barW;
      parts.push(`<rect x="${bx.toFixed(1)}" y="${(plotY + plotH - h).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[s % COLORS.length]}"/>`);
      parts.push(text(bx + (barW - 2) / 2, plotY + plotH - h - 3, fmt(v), 'font-size="8.5" text-anchor="middle" fill="#333"'));
    });
    parts.push(text(plotX + c * groupW + groupW / 2, plotY + plotH + 13, clip(category, Math.max(4, Math.floor(groupW / 5.3))), 'font-size="9.5" text-anchor="middle"'));
  });
  parts.push(key.svg);
  return parts.join('\n');
}

function linePanel(panel: LinePanel, x0: number, y0: number): string {
  const parts = panelFrame(panel.title, panel.unit, x0, y0);
  const plotX = x0 + 50;
  const plotY = y0 + 32;
  const plotW = PANEL_W - 70;
  const plotH = PANEL_H - 85;
  const points = panel.series.flatMap((s) => s.points);
  if (points.length === 0) return parts.join('\n');
  const xMax = Math.max(...points.map((p) => p[0])) || 1;
  const yMin = Math.min(...points.map((p) => p[1]));
  const yMax = Math.max(...points.map((p) => p[1]));
  const yLo = Math.max(0, yMin - (yMax - yMin) * 0.2 - 1);
  const yHi = yMax + (yMax - yMin) * 0.2 + 1;
  const sx = (v: number): number => plotX + (v / xMax) * plotW;
  const sy = (v: number): number => plotY + plotH - ((v - yLo) / (yHi - yLo)) * plotH;
  for (const tick of [yLo, (yLo + yHi) / 2, yHi]) {
    parts.push(`<line x1="${plotX}" y1="${sy(tick)}" x2="${plotX + plotW}" y2="${sy(tick)}" stroke="#eee"/>`);
    parts.push(text(plotX - 5, sy(tick) + 3, fmt(tick), 'font-size="9" text-anchor="end" fill="#666"'));
  }
  for (const tick of [0, xMax / 2, xMax]) parts.push(text(sx(tick), plotY + plotH + 13, fmt(tick), 'font-size="9" text-anchor="middle" fill="#666"'));
  parts.push(text(plotX + plotW / 2, plotY + plotH + 27, panel.xLabel, 'font-size="10" text-anchor="middle"'));
  panel.series.forEach((series, s) => {
    const d = series.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${COLORS[s % COLORS.length]}" stroke-width="2"/>`);
  });
  parts.push(legend(panel.series.map((series) => series.name), x0 + 12, y0 + PANEL_H - 10, PANEL_W - 24).svg);
  return parts.join('\n');
}

export function renderChart(input: ChartInput): string {
  const header = [text(20, 28, input.title, 'font-size="18" font-weight="bold"'), text(20, 48, input.subtitle, 'font-size="11" fill="#555"')];
  const card = scorecard(input.figures, 60);
  const panelsTop = 60 + card.height + 10;
  const body = input.panels.map((panel, i) => {
    const x = 20 + (i % 2) * (PANEL_W + GAP);
    const y = panelsTop + Math.floor(i / 2) * (PANEL_H + GAP);
    return panel.kind === 'bars' ? barPanel(panel, x, y) : linePanel(panel, x, y);
  });
  const height = panelsTop + Math.ceil(input.panels.length / 2) * (PANEL_H + GAP) + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img">`,
    `<title>${esc(input.title)}</title>`,
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    ...header,
    card.svg,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
