/**
 * A stdin backup's command as one line of text, and back: the words of `pg_dump --format=plain
 * "my db"` become the argv array the API takes. Quotes ('…' and "…") and a backslash group and
 * escape as a shell would, but nothing else of a shell applies: the command runs without one
 * (for a pipe or a redirect, name the shell: /bin/sh -c 'pg_dump mydb | gzip').
 */
export function splitWords(text: string): { ok: true; argv: string[] } | { ok: false; message: string } {
  const argv: string[] = [];
  let word: string | null = null;
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === "\\" && quote === '"' && (text[i + 1] === '"' || text[i + 1] === "\\")) word += text[++i] ?? "";
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      word ??= "";
    } else if (c === "\\") {
      word = (word ?? "") + (text[++i] ?? "");
    } else if (/\s/.test(c)) {
      if (word !== null) argv.push(word);
      word = null;
    } else {
      word = (word ?? "") + c;
    }
  }
  if (quote) return { ok: false, message: `a ${quote} quote is not closed` };
  if (word !== null) argv.push(word);
  return { ok: true, argv };
}

/** The argv as one line that splitWords reads back the same. */
export function joinWords(argv: readonly string[]): string {
  return argv.map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replaceAll("'", `'\\''`)}'`)).join(" ");
}
