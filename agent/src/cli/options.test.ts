import { expect, test } from "bun:test";
import { HELP, MAIN_HELP } from "./help.ts";
import { COMMAND_OPTIONS } from "./options.ts";

/** The `--option` names a text mentions. */
const mentioned = (text: string) => new Set([...text.matchAll(/--([a-z][a-z-]*)/g)].map((m) => m[1]));

/** The main help's usage lines for `command`, continuation lines included. */
function usageLines(command: string): string {
  const lines = MAIN_HELP.split("\n");
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]?.startsWith(`  restic-fleet-agent ${command} `) && lines[i] !== `  restic-fleet-agent ${command}`)
      continue;
    out.push(lines[i] ?? "");
    while (lines[i + 1]?.startsWith("      ")) out.push(lines[++i] ?? "");
  }
  return out.join("\n");
}

test("the usage lines and each command's help name every option the command takes, and no other", () => {
  for (const [command, options] of Object.entries(COMMAND_OPTIONS)) {
    if (command === "help") continue;
    const usage = usageLines(command);
    expect(usage, command).not.toBe("");
    expect([...mentioned(usage)].sort(), command).toEqual([...options].sort());
    const own = HELP[command];
    if (own) for (const option of options) expect(mentioned(own).has(option), `${command} --${option}`).toBe(true);
  }
});
