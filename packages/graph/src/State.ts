/**
 * The state store: named tensors (parameters, optimizer moments, gradient accumulators) that sessions
 * read as inputs and training sessions replace with their outputs. On the CPU entries are typed arrays
 * wrapped without copying; on WebGPU they are GPU buffers, and a replaced buffer is disposed exactly once.
 */
import { Tensor as OrtTensor } from "onnxruntime-node"
import type { DType, Shape, TensorData } from "./Graph.ts"
import { dtypeOf, fmt, sizeOf } from "./Graph.ts"

/** An ONNX Runtime tensor (CPU typed array or WebGPU buffer). */
export type DeviceTensor = OrtTensor

/** Wrap a typed array as a CPU tensor without copying. */
export const wrap = (data: TensorData, shape: Shape): DeviceTensor => {
  if (data.length !== sizeOf(shape)) throw new RangeError(`wrap: ${data.length} elements do not fill ${fmt(shape)}`)
  return new OrtTensor(dtypeOf(data), data, [...shape])
}

/** Whether a tensor lives in GPU memory (WebGPU IO binding). */
export const onGpu = (t: DeviceTensor): boolean => t.location === "gpu-buffer"

/** Element type of a device tensor in builder terms. */
export const dtypeOfTensor = (t: DeviceTensor): DType => t.type as DType

/** Named device tensors shared by every session of one executor. */
export class Store {
  private readonly entries = new Map<string, DeviceTensor>()

  /** The tensor stored under `name`. */
  get(name: string): DeviceTensor | undefined {
    return this.entries.get(name)
  }

  /** Whether `name` is stored. */
  has(name: string): boolean {
    return this.entries.has(name)
  }

  /** All names, in insertion order. */
  names(): Array<string> {
    return [...this.entries.keys()]
  }

  /** Store `value` under `name`; a superseded GPU tensor is disposed (once; storing the same tensor again is a no-op). */
  set(name: string, value: DeviceTensor): void {
    const old = this.entries.get(name)
    this.entries.set(name, value)
    if (old !== undefined && old !== value && onGpu(old) && !this.holds(old)) old.dispose()
  }

  /** Store a typed array (wrapped, not copied). */
  setData(name: string, data: TensorData, shape: Shape): void {
    this.set(name, wrap(data, shape))
  }

  /** Remove `name`, disposing a GPU tensor. */
  delete(name: string): void {
    const old = this.entries.get(name)
    this.entries.delete(name)
    if (old !== undefined && onGpu(old) && !this.holds(old)) old.dispose()
  }

  /** Remove everything, disposing GPU tensors (each once). */
  clear(): void {
    const gpu = new Set([...this.entries.values()].filter(onGpu))
    this.entries.clear()
    for (const t of gpu) t.dispose()
  }

  /** The CPU data of an entry, or undefined when absent or on the GPU (use `Executor.read`). Never mutate it. */
  cpuData(name: string): TensorData | undefined {
    const t = this.entries.get(name)
    return t === undefined || onGpu(t) ? undefined : (t.data as TensorData)
  }

  private holds(t: DeviceTensor): boolean {
    for (const v of this.entries.values()) if (v === t) return true
    return false
  }
}

/** A new empty store. */
export const make = (): Store => new Store()
