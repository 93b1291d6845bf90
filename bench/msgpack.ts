// A minimal MessagePack codec for the wire-codec comparison, used when the `msgpackr` package is not installed.
// It maps SQLite values natively: a JS number is never written as a 64-bit integer, a bigint always is, so
// REAL and INTEGER stay apart without tags; Uint8Array is `bin`. Enough for this benchmark, not a library.

export class MiniMsgpack {
  #buffer = Buffer.allocUnsafe(64 * 1024);
  #offset = 0;

  pack(value: unknown): Buffer {
    this.#offset = 0;
    this.#write(value);
    return Buffer.from(this.#buffer.subarray(0, this.#offset));
  }

  unpack(bytes: Uint8Array): unknown {
    const reader = new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return reader.read();
  }

  #ensure(extra: number): void {
    if (this.#offset + extra <= this.#buffer.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#buffer.length * 2, this.#offset + extra));
    this.#buffer.copy(next, 0, 0, this.#offset);
    this.#buffer = next;
  }

  #byte(value: number): void {
    this.#ensure(1);
    this.#buffer[this.#offset++] = value;
  }

  #write(value: unknown): void {
    switch (typeof value) {
      case 'undefined':
        {
        this.#byte(0xc0);
        return;
      }
      case 'boolean':
        {
        this.#byte(value ? 0xc3 : 0xc2);
        return;
      }
      case 'number':
        {
        this.#number(value);
        return;
      }
      case 'bigint':
        this.#ensure(9);
        this.#buffer[this.#offset] = 0xd3;
        this.#buffer.writeBigInt64BE(value, this.#offset + 1);
        this.#offset += 9;
        return;
      case 'string':
        {
        this.#string(value);
        return;
      }
      case 'object':
        if (value === null) {
        this.#byte(0xc0);
        return;
      }
        if (value instanceof Uint8Array) {
        this.#bin(value);
        return;
      }
        if (Array.isArray(value)) {
          this.#header(value.length, 0x90, 0xdc, 0xdd);
          for (const item of value) this.#write(item);
          return;
        }
        {
        this.#map(value as Record<string, unknown>);
        return;
      }
      default:
        throw new TypeError(`cannot pack ${typeof value}`);
    }
  }

  #number(value: number): void {
    if (Number.isInteger(value) && !Object.is(value, -0) && value >= -0x8000_0000 && value <= 0xffff_ffff) {
      if (value >= 0 && value < 128) {
        this.#byte(value);
        return;
      }
      if (value < 0 && value >= -32) {
        this.#byte(value & 0xff);
        return;
      }
      this.#ensure(5);
      if (value >= 0) {
        this.#buffer[this.#offset] = 0xce;
        this.#buffer.writeUInt32BE(value, this.#offset + 1);
      } else {
        this.#buffer[this.#offset] = 0xd2;
        this.#buffer.writeInt32BE(value, this.#offset + 1);
      }
      this.#offset += 5;
      return;
    }
    this.#ensure(9);
    this.#buffer[this.#offset] = 0xcb;
    this.#buffer.writeDoubleBE(value, this.#offset + 1);
    this.#offset += 9;
  }

  #string(value: string): void {
    const max = value.length * 3;
    this.#ensure(max + 5);
    // Reserve the longest header that could be needed, write, then move the bytes if the header is shorter.
    const headerSize = max < 32 ? 1 : max < 256 ? 2 : max < 65_536 ? 3 : 5;
    const written = this.#buffer.write(value, this.#offset + headerSize, 'utf8');
    const needed = written < 32 ? 1 : written < 256 ? 2 : written < 65_536 ? 3 : 5;
    if (needed !== headerSize) this.#buffer.copy(this.#buffer, this.#offset + needed, this.#offset + headerSize, this.#offset + headerSize + written);
    const at = this.#offset;
    if (needed === 1) this.#buffer[at] = 0xa0 | written;
    else if (needed === 2) {
      this.#buffer[at] = 0xd9;
      this.#buffer[at + 1] = written;
    } else if (needed === 3) {
      this.#buffer[at] = 0xda;
      this.#buffer.writeUInt16BE(written, at + 1);
    } else {
      this.#buffer[at] = 0xdb;
      this.#buffer.writeUInt32BE(written, at + 1);
    }
    this.#offset += needed + written;
  }

  #bin(value: Uint8Array): void {
    const length = value.byteLength;
    this.#ensure(length + 5);
    if (length < 256) {
      this.#buffer[this.#offset++] = 0xc4;
      this.#buffer[this.#offset++] = length;
    } else if (length < 65_536) {
      this.#buffer[this.#offset] = 0xc5;
      this.#buffer.writeUInt16BE(length, this.#offset + 1);
      this.#offset += 3;
    } else {
      this.#buffer[this.#offset] = 0xc6;
      this.#buffer.writeUInt32BE(length, this.#offset + 1);
      this.#offset += 5;
    }
    this.#buffer.set(value, this.#offset);
    this.#offset += length;
  }

  #map(value: Record<string, unknown>): void {
    const keys = Object.keys(value).filter((key) => value[key] !== undefined);
    this.#header(keys.length, 0x80, 0xde, 0xdf);
    for (const key of keys) {
      this.#string(key);
      this.#write(value[key]);
    }
  }

  #header(length: number, fix: number, code16: number, code32: number): void {
    this.#ensure(5);
    if (length < 16) {
      this.#buffer[this.#offset++] = fix | length;
    } else if (length < 65_536) {
      this.#buffer[this.#offset] = code16;
      this.#buffer.writeUInt16BE(length, this.#offset + 1);
      this.#offset += 3;
    } else {
      this.#buffer[this.#offset] = code32;
      this.#buffer.writeUInt32BE(length, this.#offset + 1);
      this.#offset += 5;
    }
  }
}

class Reader {
  readonly #bytes: Buffer;
  #offset = 0;

  constructor(bytes: Buffer) {
    this.#bytes = bytes;
  }

  read(): unknown {
    const bytes = this.#bytes;
    const code = bytes[this.#offset++]!;
    if (code < 0x80) return code;
    if (code >= 0xe0) return code - 0x100;
    if ((code & 0xf0) === 0x80) return this.#map(code & 0x0f);
    if ((code & 0xf0) === 0x90) return this.#array(code & 0x0f);
    if ((code & 0xe0) === 0xa0) return this.#string(code & 0x1f);
    switch (code) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        return this.#bin(this.#u(1));
      case 0xc5:
        return this.#bin(this.#u(2));
      case 0xc6:
        return this.#bin(this.#u(4));
      case 0xcb: {
        const value = bytes.readDoubleBE(this.#offset);
        this.#offset += 8;
        return value;
      }
      case 0xce:
        return this.#u(4);
      case 0xd2: {
        const value = bytes.readInt32BE(this.#offset);
        this.#offset += 4;
        return value;
      }
      case 0xd3: {
        const value = bytes.readBigInt64BE(this.#offset);
        this.#offset += 8;
        return value;
      }
      case 0xd9:
        return this.#string(this.#u(1));
      case 0xda:
        return this.#string(this.#u(2));
      case 0xdb:
        return this.#string(this.#u(4));
      case 0xdc:
        return this.#array(this.#u(2));
      case 0xdd:
        return this.#array(this.#u(4));
      case 0xde:
        return this.#map(this.#u(2));
      case 0xdf:
        return this.#map(this.#u(4));
      default:
        throw new TypeError(`unsupported MessagePack type 0x${code.toString(16)}`);
    }
  }

  #u(size: 1 | 2 | 4): number {
    const value = size === 1 ? this.#bytes[this.#offset]! : size === 2 ? this.#bytes.readUInt16BE(this.#offset) : this.#bytes.readUInt32BE(this.#offset);
    this.#offset += size;
    return value;
  }

  #string(length: number): string {
    const value = this.#bytes.toString('utf8', this.#offset, this.#offset + length);
    this.#offset += length;
    return value;
  }

  #bin(length: number): Buffer {
    const value = Buffer.from(this.#bytes.subarray(this.#offset, this.#offset + length));
    this.#offset += length;
    return value;
  }

  #array(length: number): unknown[] {
    const value = new Array<unknown>(length);
    for (let i = 0; i < length; i++) value[i] = this.read();
    return value;
  }

  #map(length: number): Record<string, unknown> {
    const value: Record<string, unknown> = {};
    for (let i = 0; i < length; i++) {
      const key = this.read() as string;
      value[key] = this.read();
    }
    return value;
  }
}
