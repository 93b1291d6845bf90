// Figures with their targets, the console table and the JSON document.
import { round } from './util.js';

export interface Target {
  op: '<=' | '>=';
  value: number;
  /** How the target reads in the brief, e.g. "≤ 1.05x raw". */
  text: string;
}

export interface Figure {
  id: string;
  section: string;
  name: string;
  value: number | null;
  unit: string;
  /** null for figures reported for information only. */
  target: Target | null;
  /** true/false against the target; null when there is no target. */
  met: boolean | null;
  /** For a missed target: how far the value is from it, in `unit` (always positive). */
  gap: number | null;
  detail?: Record<string, unknown>;
  error?: string;
}

export function figure(
  id: string,
  section: string,
  name: string,
  value: number | null,
  unit: string,
  target: Target | null = null,
  detail?: Record<string, unknown>,
): Figure {
  const finite = value !== null && Number.isFinite(value);
  const met = target === null ? null : finite ? (target.op === '<=' ? value! <= target.value : value! >= target.value) : false;
  const gap = target !== null && met === false && finite ? round(Math.abs(value! - target.value), 4) : null;
  const result: Figure = { id, section, name, value: finite ? round(value!, 4) : null, unit, target, met, gap };
  if (detail !== undefined) result.detail = detail;
  return result;
}

export function failedFigure(id: string, section: string, name: string, unit: string, target: Target | null, error: string): Figure {
  return { id, section, name, value: null, unit, target, met: target === null ? null : false, gap: null, error };
}

function formatValue(value: number | null, unit: string): string {
  if (value === null) return 'n/a';
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : Math.abs(value) >= 1 ? 2 : 3;
  return `${value.toFixed(digits)} ${unit}`.trim();
}

export function table(figures: readonly Figure[]): string {
  const rows = figures.map((f) => [
    f.id,
    f.name,
    formatValue(f.value, f.unit),
    f.target?.text ?? '(info)',
    f.met === null ? '' : f.met ? 'met' : 'MISSED',
    f.gap === null ? (f.error ? `error: ${f.error.slice(0, 60)}` : '') : `${formatValue(f.gap, f.unit)} over`,
  ]);
  const header = ['id', 'figure', 'measured', 'target', 'result', 'gap'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]): string => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd();
  const separator = widths.map((width) => '-'.repeat(width)).join('  ');
  const out = [line(header), separator];
  let section = '';
  for (const [index, row] of rows.entries()) {
    const current = figures[index]!.section;
    if (current !== section && index > 0) out.push('');
    section = current;
    out.push(line(row));
  }
  return out.join('\n');
}
