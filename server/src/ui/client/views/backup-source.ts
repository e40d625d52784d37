import { joinWords, splitWords } from "../argv-words.ts";
import { field, h } from "../dom.ts";

let seq = 0;

/** A backup's source as the API takes it: paths, or a command's output stored as one file. */
export type SourceBody =
  | { source: "paths" }
  | { source: "command"; stdin_command: string[]; stdin_filename: string | null }
  | { source: "invalid"; field: "stdin_command"; message: string };

export interface BackupSource {
  /** The radio pair, and the command and file name fields (shown for "command output"). */
  nodes: HTMLElement[];
  /** Whether the paths (and excludes) apply: the caller shows or hides its own fields by it. */
  readsPaths(): boolean;
  body(): SourceBody;
}

/**
 * "What to back up": files and folders (the caller's paths), or a command's output (pg_dump,
 * sqlite3 .dump), stored in the snapshot under a file name. The command is typed as one line and
 * sent as its words (argv-words.ts); it runs without a shell.
 */
export function backupSource(
  existing: { stdin_command: string[] | null; stdin_filename: string | null } | null,
  onChange: () => void,
): BackupSource {
  const n = ++seq;
  const radio = (value: string, label: string, checked: boolean) => {
    const input = h("input", { type: "radio", name: `source-${n}`, value, id: `source-${n}-${value}`, checked });
    input.addEventListener("change", () => {
      show();
      onChange();
    });
    return { input, node: h("div", { class: "field inline" }, input, h("label", { for: input.id }, label)) };
  };
  const fromCommand = existing?.stdin_command != null;
  const paths = radio("paths", "files and folders", !fromCommand);
  const command = radio("command", "a command's output (a database dump)", fromCommand);
  const line = h("input", {
    name: "stdin_command",
    value: existing?.stdin_command ? joinWords(existing.stdin_command) : "",
    placeholder: "pg_dump --format=plain mydb",
    autocomplete: "off",
    spellcheck: "false",
  });
  const name = h("input", {
    name: "stdin_filename",
    value: existing?.stdin_filename ?? "",
    placeholder: "stdin",
    autocomplete: "off",
    spellcheck: "false",
  });
  const commandPart = h(
    "div",
    { class: "stdin-source" },
    field(
      "Command",
      line,
      "Run on the host without a shell, its output backed up as one file; if it fails, so does the job. " +
        "For a pipe, name the shell: /bin/sh -c 'pg_dump mydb | gzip'. Refused by hosts whose policy turns remote hooks off.",
    ),
    field("File name in the snapshot", name, "e.g. mydb.sql (empty: stdin)."),
  );
  const show = () => {
    commandPart.hidden = !command.input.checked;
  };
  show();
  return {
    nodes: [
      h(
        "fieldset",
        { class: "field source-choice", "data-field": "source" },
        h("legend", {}, "Source"),
        paths.node,
        command.node,
      ),
      commandPart,
    ],
    readsPaths: () => !command.input.checked,
    body(): SourceBody {
      if (!command.input.checked) return { source: "paths" };
      const words = splitWords(line.value);
      if (!words.ok) return { source: "invalid", field: "stdin_command", message: words.message };
      if (words.argv.length === 0) {
        return { source: "invalid", field: "stdin_command", message: "name the command, e.g. pg_dump mydb" };
      }
      return { source: "command", stdin_command: words.argv, stdin_filename: name.value.trim() || null };
    },
  };
}
