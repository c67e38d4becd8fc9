/**
 * The embedded default: the whole ReaLM method on the built-in parcel-fee domain with a small model trained from
 * scratch on the CPU, as an ordinary pipeline config. `full` takes about 12 minutes on 2 quiet cores (under 20
 * with load); `quick` exercises every stage in a few minutes (CI's end-to-end test).
 */
import type { PipelineConfig } from "./PipelineConfig.ts"
import * as Registry from "./Registry.ts"

/** The demo's pipeline config, writing under `runDir`. */
export const config = (preset: "full" | "quick", runDir: string): PipelineConfig => {
  const quick = preset === "quick"
  const rlSteps = quick ? 4 : 40
  return {
    name: quick ? "demo-quick" : "demo",
    run: { seed: 0, runDir },
    methods: ["sft", "rft", "grpo", "cot-synthesizer", "realm", "realm-zero"],
    tasks: {
      use: "parcel",
      with: {
        levels: [1, 2],
        // Levels 1-2 hold few distinct questions (about 80 level-1 ones in all); evaluation splits hold each question
        // once, so test and heldout get 30% and 25% of the space and ask no more than exists.
        testPercent: 30,
        validationPercent: 5,
        heldoutPercent: 25,
        counts: quick
          ? { train: 160, validation: 8, test: 24, heldout: 24, transfer: 0 }
          : { train: 1200, validation: 32, test: 150, heldout: 150, transfer: 0 }
      }
    },
    teacher: { use: "rule" },
    corpus: { routesPerProblem: 4, negativesPerProblem: 2 },
    model: {
      scratch: quick
        ? { vocabSize: 320, hiddenSize: 64, intermediateSize: 160, layers: 2, heads: 4, kvHeads: 2, maxContext: 768 }
        : { vocabSize: 384, hiddenSize: 96, intermediateSize: 256, layers: 4, heads: 4, kvHeads: 2, maxContext: 768 }
    },
    verifier: { use: "mrpv", with: { style: "compact" } },
    // The default curriculum (EAAI) with an exponential fading schedule over the RL steps.
    curriculum: {
      use: Registry.defaults.curriculum.use,
      with: { schedule: { kind: "exponential", totalSteps: rlSteps, autonomousFraction: 0.25 } }
    },
    trainer: {
      use: "onnx",
      with: {
        seed: 0,
        generation: { maxNewTokens: 160, maxPromptTokens: 544 },
        batching: { buckets: [64, 128, 256, 704], microBatch: 16 },
        checkpoint: { every: quick ? 0 : 20 },
        sft: {
          epochs: quick ? 1 : 16,
          batchSize: 32,
          lr: { peak: 0.002 },
          warmStart: { ratio: 0.25 },
          evalEvery: quick ? 0 : 50
        },
        // Fine-tuning after SFT uses a 10x smaller step than SFT's last: at 2e-4 RFT and every RL method lost 15-38
        // points of greedy test accuracy in 40 steps (docs/BENCHMARKS.md, "RL at demo scale").
        rft: {
          samples: 4,
          problems: quick ? 24 : 300,
          train: { epochs: 1, batchSize: 32, lr: { peak: 0.00002 }, heldOutFraction: 0, evalEvery: 0 }
        },
        rl: { steps: rlSteps, batchSize: 32, groupSize: 4, lr: { peak: 0.00002 } }
      }
    },
    evaluator: { use: "default", with: { samples: quick ? 1 : 4, maxNewTokens: 160 } },
    evaluation: { splits: ["test", "heldout"] }
  }
}
