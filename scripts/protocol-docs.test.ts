import { expect, test } from "bun:test";
import { PROTOCOL_DOC_PATH, renderProtocolDocs } from "./protocol-docs.ts";

test("docs/protocol.md is generated from the current schemas", async () => {
  const onDisk = await Bun.file(PROTOCOL_DOC_PATH).text();
  if (onDisk !== renderProtocolDocs()) {
    throw new Error("docs/protocol.md is out of date: run `bun scripts/protocol-docs.ts --write`");
  }
  expect(onDisk).toContain("### `command.run`");
});
