/**
 * GPT-2's byte ↔ unicode table used by byte-level BPE: printable bytes map to themselves, the other 68 to
 * code points from U+0100 up, so every byte string becomes a printable string (space is "Ġ", newline "Ċ").
 */

const build = (): { readonly toChar: ReadonlyArray<string>; readonly toByte: ReadonlyMap<string, number> } => {
  const printable: Array<number> = []
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b)
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b)
  for (let b = 0xae; b <= 0xff; b++) printable.push(b)
  const toChar: Array<string> = Array.from({ length: 256 }, () => "")
  const toByte = new Map<string, number>()
  let extra = 0
  for (let b = 0; b < 256; b++) {
    const code = printable.includes(b) ? b : 256 + extra++
    toChar[b] = String.fromCodePoint(code)
    toByte.set(String.fromCodePoint(code), b)
  }
  return { toChar, toByte }
}

const table = build()

/** The character standing for each byte `[256]`. */
export const byteToChar: ReadonlyArray<string> = table.toChar
/** The byte a character stands for. */
export const charToByte: ReadonlyMap<string, number> = table.toByte

/** A byte string as its byte-level symbols. */
export const encodeBytes = (bytes: Uint8Array): string => {
  let s = ""
  for (const b of bytes) s += byteToChar[b]!
  return s
}

/** Bytes back from byte-level symbols; characters outside the table are dropped. */
export const decodeChars = (s: string): Array<number> => {
  const out: Array<number> = []
  for (const ch of s) {
    const b = charToByte.get(ch)
    if (b !== undefined) out.push(b)
  }
  return out
}
