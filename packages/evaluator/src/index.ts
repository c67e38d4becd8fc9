/**
 * @realm-lm/evaluator: assisted and autonomous evaluation statistics, confidence intervals, paired comparisons
 * and results tables.
 */
export * as Bootstrap from "./Bootstrap.ts"
export * as EndpointSampler from "./EndpointSampler.ts"
export * as Evaluate from "./Evaluate.ts"
export * as Metrics from "./Metrics.ts"
export * as Report from "./Report.ts"
export * as ReportData from "./ReportData.ts"
export * as Sampler from "./Sampler.ts"
export * as SeedPaired from "./SeedPaired.ts"
export * as Summary from "./Summary.ts"
export * as Table from "./Table.ts"
