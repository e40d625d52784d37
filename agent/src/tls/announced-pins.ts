import type { TlsFingerprintsPayload } from "../../../protocol/index.ts";
import type { Logger } from "../log.ts";
import type { StateStore } from "../state/state-store.ts";

/**
 * The server announced its certificate now and next (tls.fingerprints): a pinned agent pins
 * exactly those, having heard them over a link verified against its current pins. An agent that
 * validates by CA keeps doing so.
 */
export async function adoptAnnouncedPins(state: StateStore, p: TlsFingerprintsPayload, log: Logger): Promise<void> {
  const id = state.identity();
  if (!id?.tls_pins?.length) return;
  const pins = [p.current, ...(p.next && p.next !== p.current ? [p.next] : [])];
  if (pins.length === id.tls_pins.length && pins.every((x, i) => x === id.tls_pins?.[i])) return;
  await state.setIdentity({ ...id, tls_pins: pins });
  log.info("the server announced its certificates: pinned to them", { pins });
}
