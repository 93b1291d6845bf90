// The demo's live view. On a TTY the node table is redrawn in place (plain ANSI) under a scrolling log of events;
// otherwise events are plain lines and the table becomes one status line per second.

export interface Column {
  title: string;
  width: number;
  align?: 'left' | 'right';
}

const ESC = '\x1b[';

export class Screen {
  readonly tty: boolean;
  #drawn = 0;
  #frame: string[] = [];
  #lastPlain = 0;
  #cursorHidden = false;

  constructor(private readonly out: NodeJS.WriteStream = process.stdout) {
    this.tty = out.isTTY === true && process.env.TERM !== 'dumb';
  }

  /** A line that stays: above the live table on a TTY, or just printed. */
  event(line: string): void {
    if (!this.tty) {
      this.out.write(`${line}\n`);
      return;
    }
    this.#erase();
    this.out.write(`${this.#fit(line)}\n`);
    this.#draw();
  }

  /** The live table. `plain` is the one-line form used without a TTY, printed at most once a second. */
  frame(lines: string[], plain: () => string): void {
    if (!this.tty) {
      const now = Date.now();
      if (now - this.#lastPlain < 950) return;
      this.#lastPlain = now;
      this.out.write(`${plain()}\n`);
      return;
    }
    if (!this.#cursorHidden) {
      this.out.write(`${ESC}?25l`);
      this.#cursorHidden = true;
    }
    this.#erase();
    this.#frame = lines;
    this.#draw();
  }

  /** Leaves the last frame on screen and gives the cursor back. */
  release(): void {
    if (!this.tty) return;
    this.#drawn = 0;
    this.#frame = [];
    if (this.#cursorHidden) this.out.write(`${ESC}?25h`);
    this.#cursorHidden = false;
  }

  #erase(): void {
    if (this.#drawn > 0) this.out.write(`${ESC}${this.#drawn}F${ESC}J`);
    this.#drawn = 0;
  }

  #draw(): void {
    if (this.#frame.length === 0) return;
    this.out.write(`${this.#frame.map((line) => this.#fit(line)).join('\n')}\n`);
    this.#drawn = this.#frame.length;
  }

  /** Cuts a line to the terminal's width (counting visible characters only), so the redraw stays aligned. */
  #fit(line: string): string {
    const width = this.out.columns ?? 200;
    let visible = 0;
    let result = '';
    for (let i = 0; i < line.length; i++) {
      if (line[i] === '\x1b') {
        const end = line.indexOf('m', i);
        if (end > 0) {
          result += line.slice(i, end + 1);
          i = end;
          continue;
        }
      }
      if (visible >= width - 1) continue;
      result += line[i];
      visible++;
    }
    return result;
  }
}

/** ANSI styling that disappears when `enabled` is false. */
export function styles(enabled: boolean) {
  const wrap = (code: string) => (text: string) => (enabled ? `${ESC}${code}m${text}${ESC}0m` : text);
  return { bold: wrap('1'), dim: wrap('2'), red: wrap('31'), green: wrap('32'), yellow: wrap('33'), cyan: wrap('36') };
}

/** Pads a cell to its column; styling is applied after padding so escape codes do not count. */
export function cell(text: string, column: Column, style: (text: string) => string = (t) => t): string {
  const clipped = text.length > column.width ? `${text.slice(0, column.width - 1)}…` : text;
  const padded = column.align === 'right' ? clipped.padStart(column.width) : clipped.padEnd(column.width);
  return style(padded);
}

/** Values of a counter over time, for "per second" rates over a sliding window. */
export class RateMeter {
  #samples: { at: number; value: number }[] = [];

  constructor(private readonly windowMs = 2_000) {}

  record(at: number, value: number): void {
    this.#samples.push({ at, value });
    while (this.#samples.length > 2 && (this.#samples[1]?.at ?? at) <= at - this.windowMs) this.#samples.shift();
  }

  perSecond(): number {
    const first = this.#samples[0];
    const last = this.#samples.at(-1);
    if (!first || !last || last.at <= first.at) return 0;
    return ((last.value - first.value) * 1000) / (last.at - first.at);
  }
}
