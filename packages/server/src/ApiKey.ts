/**
 * Checking a request's `Authorization` header against the server's API key: the scheme `Bearer` in any case (RFC
 * 9110 makes auth schemes case-insensitive), and the token compared in constant time, on SHA-256 digests so keys of
 * any length compare without revealing where, or whether by length, they differ.
 */
import { createHash, timingSafeEqual } from "node:crypto"

const digest = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest()

/** The token of `Bearer <token>` (the scheme in any case, spaces around the token dropped), or `undefined`. */
export const bearerToken = (header: string | undefined): string | undefined => {
  const text = header?.trim() ?? ""
  const space = text.search(/\s/) // linear scans only: the header is the client's
  if (space < 0 || text.slice(0, space).toLowerCase() !== "bearer") return undefined
  const token = text.slice(space).trim()
  return token === "" ? undefined : token
}

/** A check of `Authorization` headers against `key` (spaces around it dropped). */
export const make = (key: string): ((authorization: string | undefined) => boolean) => {
  const expected = digest(key.trim())
  return (authorization) => {
    const token = bearerToken(authorization)
    // Hashed and compared even when the header is missing or malformed, so every answer takes the same time.
    const same = timingSafeEqual(digest(token ?? ""), expected)
    return same && token !== undefined
  }
}
