/**
 * Which execution provider ONNX Runtime put each node on, read from a session's verbose log (runtime
 * `logLevel: "verbose"`): onnxruntime-node 1.30 has no API for node placement, but its session logger
 * prints it (`VerifyEachNodeIsAssignedToAnEp`) when a session is created. Used to list ops that fell back
 * to the CPU under WebGPU or CUDA (each fallback adds host copies and a GPU sync to every step).
 */

/** One node as ORT logged it after graph optimization (fused and inserted nodes included). */
export interface PlacedNode {
  readonly provider: string
  readonly op: string
  readonly name: string
}

/** Placement of every session created while the log was recorded. */
export interface Report {
  /** Sessions seen (one "placed on" summary each). */
  readonly sessions: number
  /** Node count per provider over all sessions, e.g. `{ WebGpuExecutionProvider: 812, CPUExecutionProvider: 14 }`. */
  readonly nodesByProvider: Readonly<Record<string, number>>
  /** Nodes on the CPU provider in sessions where another provider also holds nodes (listed one by one by ORT). */
  readonly cpuNodes: ReadonlyArray<PlacedNode>
  /** `cpuNodes` counted by op type, most frequent first. */
  readonly cpuOps: ReadonlyArray<{ readonly op: string; readonly count: number }>
  /** Op types the WebGPU provider reported it has no kernel for ("webgpu kernel not found in registries"). */
  readonly missingWebgpuKernels: ReadonlyArray<string>
}

const cpuProvider = "CPUExecutionProvider"
/** ` All nodes placed on [P]. Number of nodes: N` (one provider) */
const allOn = /All nodes placed on \[([^\]]+)\]\. Number of nodes: (\d+)/
/** ` Node(s) placed on [P]. Number of nodes: N`, followed by one `  Op (name)` line per node */
const someOn = /Node\(s\) placed on \[([^\]]+)\]\. Number of nodes: (\d+)/
const nodeLine = /^\s+(\S+) \((.*)\)\s*$/
const missingKernel = /webgpu kernel not found in registries for Op type: (\S+)/
/** A new log record starts with a date (`2026-12-06 02:38:41.78 [V:onnxruntime:...`). */
const recordStart = /^\d{4}-\d{2}-\d{2}[ T]/

/** Parse ORT's verbose log text (stderr of the process that created the sessions). */
export const parse = (log: string): Report => {
  const byProvider = new Map<string, number>()
  const cpuNodes: Array<PlacedNode> = []
  const missing = new Set<string>()
  let sessions = 0
  let current: string | undefined // provider whose node list is being read
  let pendingSummary = false // a multi-provider summary counts as one session, not one per provider
  for (const line of log.split("\n")) {
    const all = allOn.exec(line)
    const some = all === null ? someOn.exec(line) : null
    if (all !== null || some !== null || recordStart.test(line)) {
      current = undefined
      if (some === null) pendingSummary = false
    }
    if (all !== null) {
      sessions++
      byProvider.set(all[1]!, (byProvider.get(all[1]!) ?? 0) + Number(all[2]))
    } else if (some !== null) {
      if (!pendingSummary) sessions++
      pendingSummary = true
      current = some[1]!
      byProvider.set(current, (byProvider.get(current) ?? 0) + Number(some[2]))
    } else if (current !== undefined) {
      const node = nodeLine.exec(line)
      if (node !== null && current === cpuProvider) cpuNodes.push({ provider: current, op: node[1]!, name: node[2]! })
    }
    const m = missingKernel.exec(line)
    if (m !== null) missing.add(m[1]!)
  }
  const counts = new Map<string, number>()
  for (const n of cpuNodes) counts.set(n.op, (counts.get(n.op) ?? 0) + 1)
  return {
    sessions,
    nodesByProvider: Object.fromEntries(byProvider),
    cpuNodes,
    cpuOps: [...counts]
      .map(([op, count]) => ({ op, count }))
      .toSorted((a, b) => b.count - a.count || a.op.localeCompare(b.op)),
    missingWebgpuKernels: [...missing].toSorted()
  }
}
