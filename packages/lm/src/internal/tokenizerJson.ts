/** Pieces of the Hugging Face `tokenizer.json` format that every tokenizer this package writes shares. */

/** `added_tokens`: the special tokens `specials` at ids 0, 1, …, matched whole and never normalised. */
export const addedTokens = (specials: ReadonlyArray<string>) =>
  specials.map((content, id) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true
  }))
