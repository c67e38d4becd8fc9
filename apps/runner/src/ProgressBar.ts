/**
 * Progress display for long commands: `corpus  [######......]  120/400  30.0/s  ETA 0:09  pos 120 neg 80`.
 * On a terminal the line is redrawn in place (at most every 100 ms); otherwise (CI logs, pipes) a plain line is
 * printed at most every 10 s, plus the final state, so logs stay short.
 */
import { Effect, Ref } from "effect"

/** One progress state. */
export interface ProgressState {
  readonly label: string
  readonly done: number
  readonly total: number
  /**
   * Items per second when the caller measures it better than done / elapsed (a resumed corpus build counts only the
   * problems of this run). Default done / elapsed.
   */
  readonly rate?: number
  readonly detail?: string
}

/** A rate with two significant decimals below 1/s (a slow local teacher at 0.25/s), one below 100, none above. */
const formatRate = (rate: number): string =>
  rate >= 100 ? rate.toFixed(0) : rate >= 1 ? rate.toFixed(1) : rate.toFixed(2)

const clock = (seconds: number): string => {
  if (!Number.isFinite(seconds) || seconds < 0) return "--:--"
  const s = Math.round(seconds)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const sec = String(s % 60).padStart(2, "0")
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`
}

/** Render one progress line given the elapsed seconds since the bar started. */
export const formatLine = (state: ProgressState, elapsedSeconds: number, width = 24): string => {
  const fraction = state.total > 0 ? Math.min(1, state.done / state.total) : 0
  const filled = Math.round(fraction * width)
  // Under a second after the bar started, a rate would be noise.
  const rate = elapsedSeconds < 1 ? Number.NaN : (state.rate ?? state.done / elapsedSeconds)
  const eta = rate > 0 ? (state.total - state.done) / rate : Number.NaN
  const bar = `[${"#".repeat(filled)}${".".repeat(width - filled)}]`
  const parts = [
    state.label.padEnd(8),
    bar,
    `${state.done}/${state.total}`,
    Number.isNaN(rate) ? "--/s" : `${formatRate(rate)}/s`,
    state.done >= state.total ? `done in ${clock(elapsedSeconds)}` : `ETA ${clock(eta)}`
  ]
  if (state.detail !== undefined && state.detail !== "") parts.push(state.detail)
  return parts.join("  ")
}

/** A live progress bar writing to stderr. */
export interface ProgressBar {
  readonly update: (state: ProgressState) => Effect.Effect<void>
  /** Print the final state on its own line. */
  readonly finish: Effect.Effect<void>
}

/** Create a progress bar; `interactive` defaults to whether stderr is a terminal. */
export const make = (options: { readonly interactive?: boolean; readonly write?: (text: string) => void } = {}) =>
  Effect.gen(function* () {
    const interactive = options.interactive ?? process.stderr.isTTY === true
    const write = options.write ?? ((text: string) => void process.stderr.write(text))
    const start = performance.now()
    const last = yield* Ref.make<{ drawnAt: number; state: ProgressState | undefined }>({
      drawnAt: -Infinity,
      state: undefined
    })
    const minInterval = interactive ? 100 : 10_000
    const draw = (state: ProgressState, final: boolean) => {
      const line = formatLine(state, (performance.now() - start) / 1000)
      write(interactive ? `\r\x1b[2K${line}${final ? "\n" : ""}` : `${line}\n`)
    }
    const bar: ProgressBar = {
      update: (state) =>
        Ref.modify(last, (prev) => {
          const now = performance.now()
          const due = now - prev.drawnAt >= minInterval
          return [due, { drawnAt: due ? now : prev.drawnAt, state }]
        }).pipe(Effect.flatMap((due) => (due ? Effect.sync(() => draw(state, false)) : Effect.void))),
      finish: Effect.flatMap(Ref.get(last), ({ state }) =>
        state === undefined ? Effect.void : Effect.sync(() => draw(state, true))
      )
    }
    return bar
  })
