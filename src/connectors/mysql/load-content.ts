// The content of a LOAD DATA LOCAL INFILE as it is built: the text of the lines (joined and
// encoded as UTF-8 once per piece) and bytes values as their own bytes, backslash-escaped. The
// server takes bytes as they are in a quarter of the time it takes to UNHEX their hex digits
// (a 50 MiB value: 1.1 s against 4.4 s), and half as many travel.

/** The escape letter of each byte LOAD DATA reads specially (NUL, tab, newline, backslash), else 0. */
const ESCAPED = new Uint8Array(256);
ESCAPED[0x00] = 0x30;
ESCAPED[0x09] = 0x74;
ESCAPED[0x0a] = 0x6e;
ESCAPED[0x5c] = 0x5c;
const BACKSLASH = 0x5c;

export class LoadContent {
  private lines: string[] = [];
  private chars = 0;
  /** what came before the text in `lines`, as buffers */
  private parts: Buffer[] = [];
  private partBytes = 0;

  /** Text of lines, escaped as LOAD DATA reads it. */
  text(s: string): void {
    if (s === '') return;
    this.lines.push(s);
    this.chars += s.length;
  }

  /** Bytes as they are, escaped: a bytes value, or the UTF-8 of a long text. */
  bytes(v: Uint8Array): void {
    this.endText();
    let specials = 0;
    for (let i = 0; i < v.length; i++) if (ESCAPED[v[i]!] !== 0) specials++;
    const out = Buffer.allocUnsafe(v.length + specials);
    if (specials === 0) out.set(v);
    else
      for (let i = 0, p = 0; i < v.length; i++) {
        const c = v[i]!;
        const e = ESCAPED[c]!;
        if (e === 0) out[p++] = c;
        else {
          out[p++] = BACKSLASH;
          out[p++] = e;
        }
      }
    this.parts.push(out);
    this.partBytes += out.length;
  }

  /** What is held: characters of text plus bytes. */
  get size(): number {
    return this.chars + this.partBytes;
  }

  /**
   * What is held, as buffers of at most `pieceBytes` (small parts joined, a large one in
   * slices: mysql2 copies each buffer it is given once more), and starts afresh.
   */
  *take(pieceBytes: number): Generator<Buffer> {
    this.endText();
    const parts = this.parts;
    this.parts = [];
    this.partBytes = 0;
    let group: Buffer[] = [];
    let groupBytes = 0;
    const joined = () => (group.length === 1 ? group[0]! : Buffer.concat(group, groupBytes));
    for (const part of parts) {
      if (group.length > 0 && groupBytes + part.length > pieceBytes) {
        yield joined();
        group = [];
        groupBytes = 0;
      }
      if (part.length > pieceBytes)
        for (let at = 0; at < part.length; at += pieceBytes) yield part.subarray(at, at + pieceBytes);
      else {
        group.push(part);
        groupBytes += part.length;
      }
    }
    if (group.length > 0) yield joined();
  }

  private endText(): void {
    if (this.lines.length === 0) return;
    const text = Buffer.from(this.lines.join(''));
    this.lines = [];
    this.chars = 0;
    this.parts.push(text);
    this.partBytes += text.length;
  }
}
