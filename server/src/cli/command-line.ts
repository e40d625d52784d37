import { type ParseArgsOptionsConfig, parseArgs } from "node:util";
import { UsageError } from "./usage-error.ts";

// The agent's agent/src/cli/command-line.ts does the same: agent/ and server/ share only protocol/.
/**
 * Parses `argv` for `exe`: the first positional is the command, and each command takes only the
 * options `commands` lists for it (with no command, or one not listed, any option of `options`).
 * Every mistake is a UsageError in our words: util.parseArgs's own messages name no command and
 * end with an unbalanced quote.
 */
export function parseCommandLine<O extends ParseArgsOptionsConfig>(
  exe: string,
  argv: string[],
  options: O,
  commands: Record<string, readonly (keyof O & string)[]>,
) {
  const { tokens } = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  const command = tokens.find((t) => t.kind === "positional")?.value;
  const own = command !== undefined && Object.hasOwn(commands, command) ? commands[command] : undefined;
  const help = own ? `${exe} ${command} --help` : `${exe} --help`;
  const what = own ? ` for "${command}"` : "";
  for (const t of tokens) {
    if (t.kind !== "option") continue;
    const spec = Object.hasOwn(options, t.name) ? options[t.name] : undefined;
    if (!spec || (own && t.name !== "help" && !own.includes(t.name))) {
      throw new UsageError(`unknown option ${t.rawName}${what}`, help);
    }
    if (spec.type === "string" && t.value === undefined)
      throw new UsageError(`${t.rawName} needs a value${what}`, help);
    if (spec.type === "string" && !t.inlineValue && t.value?.startsWith("-")) {
      throw new UsageError(
        `${t.rawName} needs a value${what}, not "${t.value}" (for a value that starts with '-', write ${t.rawName}=${t.value})`,
        help,
      );
    }
    if (spec.type === "boolean" && t.value !== undefined) {
      throw new UsageError(`${t.rawName} takes no value${what}; got "${t.value}"`, help);
    }
  }
  // Cannot fail any more: every option is known, and each has a value if and only if it takes one.
  return { ...parseArgs({ args: argv, options, strict: true, allowPositionals: true }), command, help };
}
