/**
 * GPU tier (REALM_GPU=1): every device-gradient case in float32 on each device of REALM_DEVICES (default
 * `webgpu`; e.g. `webgpu,cuda`) against float64 on the CPU, and three AdamW steps against the CPU's. The
 * tolerances are in test/support/deviceGradients.ts. A device that cannot start fails with its install hint.
 * Run: `REALM_GPU=1 npx vitest run --project graph DeviceGradients`.
 */
import { assert } from "vitest"
import { describe, it } from "@effect/vitest"
import { Effect } from "effect"

import type { Device } from "../src/Device.ts"
import * as DeviceGradients from "./support/deviceGradients.ts"

const devices = (process.env.REALM_DEVICES ?? "webgpu")
  .split(",")
  .map((d) => d.trim())
  .filter((d) => d !== "") as Array<Device>

for (const device of devices) {
  describe(`gradients on ${device} match float64 on the CPU`, () => {
    const expectOk = (r: DeviceGradients.CaseResult) => {
      const bad = r.tensors
        .filter((t) => !t.ok)
        .map((t) => `${t.name}: max |err| ${t.maxAbsError} with max |ref| ${t.scale}`)
      assert.deepStrictEqual(bad, [], `${r.name} on ${device}`)
      assert.isAbove(r.tensors.length, 1)
    }
    for (const c of DeviceGradients.cases) {
      it.effect(c.name, () => Effect.map(DeviceGradients.runCase(c, device), expectOk))
    }
    it.effect("three AdamW steps of the decoder give the CPU's losses and params", () =>
      Effect.map(DeviceGradients.runTrainingSteps(device), expectOk)
    )
  })
}
