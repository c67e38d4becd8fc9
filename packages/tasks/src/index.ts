/**
 * @realm-lm/tasks: problems with verifiable answers. The built-in parcel-fee vertical domain (rulebook, solver,
 * difficulty levels, held-out rule combinations, a transfer tariff), synthetic arithmetic word problems, GSM8K
 * and the other shared benchmarks through a generic file loader, and answer extraction per answer type.
 */
export * as Answer from "./Answer.ts"
export * as Arithmetic from "./Arithmetic.ts"
export * as Benchmarks from "./Benchmarks.ts"
export * as Loader from "./Loader.ts"
export * as ParcelDomain from "./ParcelDomain.ts"
export * as ParcelRulebook from "./ParcelRulebook.ts"
export * as StepProgram from "./StepProgram.ts"
