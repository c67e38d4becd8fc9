/**
 * Headless Chromium for page tests: Debian's `chromium` driven by playwright-core (no browser download).
 * `.ci/run` installs the package when it is missing; elsewhere tests skip with this reason.
 */
import { existsSync } from "node:fs"
import { chromium } from "playwright-core"
import type { Browser } from "playwright-core"

/** Path of the system Chromium (override with REALM_CHROMIUM). */
export const chromiumPath = process.env.REALM_CHROMIUM ?? "/usr/bin/chromium"

/** Whether a Chromium binary is available. */
export const hasChromium = existsSync(chromiumPath)

/** Skip reason shown when Chromium is absent. */
export const noChromiumReason = `skipped: no Chromium at ${chromiumPath} (apt-get install chromium, or set REALM_CHROMIUM)`

/** Launch headless Chromium with no network side traffic. */
export const launch = (): Promise<Browser> =>
  chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync"
    ]
  })
