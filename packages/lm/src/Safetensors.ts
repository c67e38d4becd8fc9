/**
 * safetensors in and out. Reading validates the whole header before touching data (length, JSON, dtypes, shapes,
 * offsets contiguous and inside the file) so a truncated or inconsistent file fails with a typed error and never
 * reads out of bounds; tensors are read with positioned, chunked reads straight into their float32 arrays (F16,
 * BF16 and F64 converted chunk by chunk), so loading needs the model's float32 size plus one 16 MiB chunk.
 */
import { Effect, FileSystem, Schema } from "effect"
import type { PlatformError } from "effect"
import { readAt } from "./internal/readAt.ts"
import { decodeBf16, decodeF16, decodeF64, toBf16Bits, toF16Bits } from "./internal/halfFloat.ts"
import type { Tensor, Weights } from "./Weights.ts"

/** Byte size of every safetensors dtype (the format's full list); only F32, F16, BF16 and F64 load as float32. */
export const dtypeSizes: Readonly<Record<string, number>> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8
}

/** Dtypes `read` converts to float32. */
export const loadableDtypes = ["F32", "F16", "BF16", "F64"] as const
/** Dtypes `write` can store. */
export type WriteDtype = "F32" | "F16" | "BF16"

/** One tensor's header entry; `begin`/`end` are byte offsets relative to the data section. */
export interface TensorInfo {
  readonly name: string
  readonly dtype: string
  readonly shape: ReadonlyArray<number>
  readonly begin: number
  readonly end: number
}

/** A validated header. */
export interface Header {
  /** Byte offset of the data section: 8 + header length. */
  readonly dataStart: number
  /** Tensors in data order. */
  readonly tensors: ReadonlyArray<TensorInfo>
  /** `__metadata__` (string → string), empty when absent. */
  readonly metadata: Readonly<Record<string, string>>
}

/** The file is not a well-formed safetensors file; `detail` says which rule failed. */
export class MalformedSafetensors extends Schema.TaggedError<MalformedSafetensors>()("MalformedSafetensors", {
  path: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.path} is not a valid safetensors file: ${this.detail}`
  }
}

/** A tensor's dtype has no float32 conversion here. */
export class UnsupportedDtype extends Schema.TaggedError<UnsupportedDtype>()("UnsupportedDtype", {
  path: Schema.String,
  tensor: Schema.String,
  dtype: Schema.String
}) {
  override get message(): string {
    return `${this.path}: tensor ${this.tensor} has dtype ${this.dtype}; only ${loadableDtypes.join(", ")} load as float32 (dequantize the checkpoint first)`
  }
}

/** Everything `readHeader`/`read` can fail with besides file-system errors. */
export type ReadError = MalformedSafetensors | UnsupportedDtype

/** Largest header accepted (as in the reference Rust implementation). */
export const maxHeaderBytes = 100_000_000
const chunkBytes = 1 << 24
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

const malformed = (path: string, detail: string) => Effect.fail(new MalformedSafetensors({ path, detail }))

/** Read exactly `target.length` bytes at `position`, failing if the file ends first. */
const readExactly = (file: FileSystem.File, target: Uint8Array, position: number, path: string) =>
  Effect.flatMap(readAt(file, target, position), (n) =>
    n === target.length
      ? Effect.void
      : malformed(path, `file ended at byte ${position + n} while reading ${target.length} bytes at ${position}`)
  )

/**
 * Validate a header's JSON text against the file size. Pure; exported for tests and for callers holding bytes.
 * Rules: a JSON object starting with `{`; `__metadata__` maps strings to strings; every tensor has a known dtype,
 * a shape of non-negative integers and `data_offsets` `[begin, end]` with `end - begin = numel · dtype size`;
 * tensors sorted by offset tile the data section exactly, from 0 to its end, without gaps or overlaps.
 */
export const parseHeader = (
  json: string,
  dataStart: number,
  fileSize: number,
  path: string
): Effect.Effect<Header, MalformedSafetensors> =>
  Effect.gen(function* () {
    if (!json.startsWith("{")) return yield* malformed(path, "the header does not start with '{'")
    const parsed = yield* Effect.try({
      try: () => JSON.parse(json) as unknown,
      catch: (e) => new MalformedSafetensors({ path, detail: `header is not JSON (${String(e)})` })
    })
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
      return yield* malformed(path, "the header is not a JSON object")
    const metadata: Record<string, string> = {}
    const tensors: Array<TensorInfo> = []
    for (const [name, raw] of Object.entries(parsed as Record<string, unknown>)) {
      if (name === "__metadata__") {
        if (typeof raw !== "object" || raw === null || Array.isArray(raw))
          return yield* malformed(path, "__metadata__ must be an object")
        for (const [k, v] of Object.entries(raw)) {
          if (typeof v !== "string") return yield* malformed(path, `__metadata__.${k} must be a string`)
          metadata[k] = v
        }
        continue
      }
      if (typeof raw !== "object" || raw === null) return yield* malformed(path, `entry ${name} is not an object`)
      const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>
      if (typeof dtype !== "string" || dtypeSizes[dtype] === undefined)
        return yield* malformed(path, `tensor ${name} has unknown dtype ${JSON.stringify(dtype)}`)
      if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
        return yield* malformed(path, `tensor ${name} has an invalid shape ${JSON.stringify(shape)}`)
      }
      if (
        !Array.isArray(offsets) ||
        offsets.length !== 2 ||
        !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
        offsets[0] > offsets[1]
      ) {
        return yield* malformed(path, `tensor ${name} has invalid data_offsets ${JSON.stringify(offsets)}`)
      }
      const numel = (shape as Array<number>).reduce((a, b) => a * b, 1)
      const bytes = numel * dtypeSizes[dtype]!
      if (!Number.isSafeInteger(bytes) || bytes !== offsets[1] - offsets[0]) {
        return yield* malformed(
          path,
          `tensor ${name}: ${dtype} [${shape.join(", ")}] needs ${bytes} bytes but data_offsets span ${offsets[1] - offsets[0]}`
        )
      }
      tensors.push({ name, dtype, shape: shape as Array<number>, begin: offsets[0], end: offsets[1] })
    }
    tensors.sort((a, b) => a.begin - b.begin || a.end - b.end)
    let cursor = 0
    for (const t of tensors) {
      if (t.begin !== cursor) {
        return yield* malformed(
          path,
          t.begin > cursor
            ? `gap in the data section before tensor ${t.name} (bytes ${cursor}..${t.begin})`
            : `tensor ${t.name} overlaps the previous tensor at byte ${t.begin}`
        )
      }
      cursor = t.end
    }
    const dataLength = fileSize - dataStart
    if (cursor !== dataLength) {
      return yield* malformed(
        path,
        cursor > dataLength
          ? `tensors need ${cursor} data bytes but only ${dataLength} follow the header (truncated file?)`
          : `${dataLength - cursor} bytes after the last tensor are not described by the header`
      )
    }
    return { dataStart, tensors, metadata }
  })

/** Receives every byte of a file, in file order, as it is read (a view valid only during the call). */
export type ByteSink = (bytes: Uint8Array) => void

const readHeaderFrom = (file: FileSystem.File, path: string, onBytes?: ByteSink) =>
  Effect.gen(function* () {
    const fileSize = Number((yield* file.stat).size)
    if (fileSize < 8)
      return yield* malformed(path, `the file has ${fileSize} bytes, fewer than the 8-byte header length`)
    const prefix = new Uint8Array(8)
    yield* readExactly(file, prefix, 0, path)
    const length = new DataView(prefix.buffer).getBigUint64(0, true)
    if (length > BigInt(fileSize - 8))
      return yield* malformed(
        path,
        `header length ${length} exceeds the ${fileSize - 8} bytes after it (truncated file?)`
      )
    if (length > BigInt(maxHeaderBytes))
      return yield* malformed(path, `header length ${length} exceeds the ${maxHeaderBytes}-byte limit`)
    const headerBytes = new Uint8Array(Number(length))
    yield* readExactly(file, headerBytes, 8, path)
    onBytes?.(prefix)
    onBytes?.(headerBytes)
    const text = yield* Effect.try({
      try: () => new TextDecoder("utf-8", { fatal: true }).decode(headerBytes),
      catch: () => new MalformedSafetensors({ path, detail: "the header is not valid UTF-8" })
    })
    return yield* parseHeader(text, 8 + Number(length), fileSize, path)
  })

/** Read and validate the header of a safetensors file (reads only the header bytes). */
export const readHeader = (
  path: string
): Effect.Effect<Header, MalformedSafetensors | PlatformError.PlatformError, FileSystem.FileSystem> =>
  Effect.scoped(
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      return yield* readHeaderFrom(yield* fs.open(path), path)
    })
  )

/** Read one tensor of an open file as float32, chunk by chunk. */
const readTensor = (
  file: FileSystem.File,
  header: Header,
  info: TensorInfo,
  path: string,
  onBytes?: ByteSink
): Effect.Effect<Tensor, ReadError | PlatformError.PlatformError> =>
  Effect.gen(function* () {
    if (!(loadableDtypes as ReadonlyArray<string>).includes(info.dtype)) {
      return yield* new UnsupportedDtype({ path, tensor: info.name, dtype: info.dtype })
    }
    if (!littleEndian) return yield* malformed(path, "this reader needs a little-endian host")
    const size = dtypeSizes[info.dtype]!
    const count = (info.end - info.begin) / size
    const out = new Float32Array(count)
    const start = header.dataStart + info.begin
    if (info.dtype === "F32") {
      const bytes = new Uint8Array(out.buffer)
      yield* readExactly(file, bytes, start, path)
      onBytes?.(bytes)
      return { shape: info.shape, data: out }
    }
    const perChunk = Math.floor(chunkBytes / size)
    const scratch = new Uint8Array(Math.min(count, perChunk) * size)
    const decode = info.dtype === "F16" ? decodeF16 : info.dtype === "BF16" ? decodeBf16 : decodeF64
    for (let i = 0; i < count; i += perChunk) {
      const n = Math.min(perChunk, count - i)
      const bytes = scratch.subarray(0, n * size)
      yield* readExactly(file, bytes, start + i * size, path)
      onBytes?.(bytes)
      decode(bytes, out, i, n)
    }
    return { shape: info.shape, data: out }
  })

/** Pass the data bytes of a tensor that is not loaded through `onBytes`, chunk by chunk. */
const skipTensor = (file: FileSystem.File, header: Header, info: TensorInfo, path: string, onBytes: ByteSink) =>
  Effect.gen(function* () {
    const total = info.end - info.begin
    const scratch = new Uint8Array(Math.min(total, chunkBytes))
    for (let done = 0; done < total; done += chunkBytes) {
      const bytes = scratch.subarray(0, Math.min(chunkBytes, total - done))
      yield* readExactly(file, bytes, header.dataStart + info.begin + done, path)
      onBytes(bytes)
    }
  })

/** Options for `read`. */
export interface ReadOptions {
  /** Only tensors whose name passes (default: all). */
  readonly include?: (name: string) => boolean
  /**
   * Receives every byte of the file in order (length prefix, header, then each tensor's data, excluded tensors
   * included), as it is read: hashing the file this way costs no second read. The header check guarantees the
   * tensors tile the data section, so the sink sees the whole file exactly once.
   */
  readonly onBytes?: ByteSink
}

/** Read (a subset of) a safetensors file as float32 tensors, in data order. */
export const read = (
  path: string,
  options: ReadOptions = {}
): Effect.Effect<Map<string, Tensor>, ReadError | PlatformError.PlatformError, FileSystem.FileSystem> =>
  Effect.scoped(
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const file = yield* fs.open(path)
      const header = yield* readHeaderFrom(file, path, options.onBytes)
      const out = new Map<string, Tensor>()
      for (const info of header.tensors) {
        if (options.include !== undefined && !options.include(info.name)) {
          if (options.onBytes !== undefined) yield* skipTensor(file, header, info, path, options.onBytes)
          continue
        }
        out.set(info.name, yield* readTensor(file, header, info, path, options.onBytes))
      }
      return out
    })
  )

/** Options for `write`. */
export interface WriteOptions {
  /** Stored dtype (default F32; F16/BF16 round to nearest even). */
  readonly dtype?: WriteDtype
  /** `__metadata__` entries (default `{ format: "pt" }`, which transformers expects). */
  readonly metadata?: Readonly<Record<string, string>>
}

/** The header JSON (padded with spaces to 8-byte alignment) and data layout `write` produces for `weights`. */
export const encodeHeader = (
  weights: Weights,
  options: WriteOptions = {}
): { readonly header: Uint8Array; readonly dataBytes: number } => {
  const dtype = options.dtype ?? "F32"
  const size = dtypeSizes[dtype]!
  const entries: Record<string, unknown> = { __metadata__: options.metadata ?? { format: "pt" } }
  let offset = 0
  for (const [name, t] of weights) {
    const bytes = t.data.length * size
    entries[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes] }
    offset += bytes
  }
  const json = JSON.stringify(entries)
  const raw = new TextEncoder().encode(json)
  const body = new Uint8Array(raw.length + ((8 - ((8 + raw.length) % 8)) % 8)).fill(0x20)
  body.set(raw)
  const header = new Uint8Array(8 + body.length)
  new DataView(header.buffer).setBigUint64(0, BigInt(body.length), true)
  header.set(body, 8)
  return { header, dataBytes: offset }
}

const writeTensor = (file: FileSystem.File, t: Tensor, dtype: WriteDtype) =>
  Effect.gen(function* () {
    if (dtype === "F32") {
      for (let i = 0; i < t.data.length; i += chunkBytes / 4) {
        const part = t.data.subarray(i, i + chunkBytes / 4)
        yield* file.writeAll(new Uint8Array(part.buffer, part.byteOffset, part.byteLength))
      }
      return
    }
    const encode = dtype === "F16" ? toF16Bits : toBf16Bits
    const perChunk = chunkBytes / 2
    const scratch = new Uint8Array(Math.min(t.data.length, perChunk) * 2)
    for (let i = 0; i < t.data.length; i += perChunk) {
      const n = Math.min(perChunk, t.data.length - i)
      for (let j = 0; j < n; j++) {
        const bits = encode(t.data[i + j]!)
        scratch[2 * j] = bits & 0xff
        scratch[2 * j + 1] = bits >>> 8
      }
      yield* file.writeAll(scratch.subarray(0, 2 * n))
    }
  })

/**
 * Write `weights` (in map order) to `path`, streaming tensor by tensor into a temporary file renamed into place,
 * so a crash never leaves a half-written checkpoint under the final name.
 */
export const write = (
  path: string,
  weights: Weights,
  options: WriteOptions = {}
): Effect.Effect<void, PlatformError.PlatformError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const dtype = options.dtype ?? "F32"
    const tmp = `${path}.tmp-${process.pid}`
    yield* Effect.scoped(
      Effect.gen(function* () {
        const file = yield* fs.open(tmp, { flag: "w" })
        yield* file.writeAll(encodeHeader(weights, options).header)
        for (const t of weights.values()) yield* writeTensor(file, t, dtype)
        yield* file.sync
      })
    )
    yield* fs.rename(tmp, path)
  })
