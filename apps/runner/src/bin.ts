#!/usr/bin/env node
/**
 * Entry point of the `realm` command: runs the CLI with Node services. Expected (typed) failures print one
 * clean message and exit 1; defects, which are bugs, keep their stack trace.
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Effect } from "effect"
import * as Cli from "./Cli.ts"
import { describeFailure } from "./Failure.ts"

Cli.run(process.argv.slice(2)).pipe(
  Effect.catch((error) =>
    Effect.sync(() => {
      const text = describeFailure(error)
      if (text !== undefined) process.stderr.write(`realm: ${text}\n`)
      process.exitCode = 1
    })
  ),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain
)
