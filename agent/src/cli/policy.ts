import { join } from "node:path";
import type { ReportedHostPolicy } from "../../../protocol/index.ts";
import { displayUrl } from "../policy/policy-check.ts";
import { readJsonFile } from "../state/atomic-file.ts";
import { Identity, STATE_FILES } from "../state/state-files.ts";
import { StateStore } from "../state/state-store.ts";
import { EXIT } from "./help.ts";
import { collectStatus } from "./status.ts";

/** `restic-fleet-agent policy`: the policy in force, the repository pin, and --reset-pin. */
export async function policyCommand(stateDir: string, policy: ReportedHostPolicy, resetPin: boolean): Promise<number> {
  if (resetPin) return await resetRepositoryPin(stateDir);
  // Read only, like `status`: opening the state store would tidy the state dir under a running agent.
  const read = await readJsonFile(join(stateDir, STATE_FILES.identity.name), Identity);
  const pin = read.ok ? read.value.repository_pin : undefined;
  const { source, ...keys } = policy;
  console.log(`policy from ${source}:`);
  console.log(JSON.stringify(keys, null, 2));
  if (policy.repositories === "first") {
    console.log(pin ? `pinned to ${displayUrl(pin.url)} since ${pin.pinned_at}` : "not pinned yet");
  }
  return EXIT.ok;
}

async function resetRepositoryPin(stateDir: string): Promise<number> {
  // A running agent holds its identity in memory and writes it back (a new pin, new TLS pins).
  if ((await collectStatus(stateDir)).agent_running) {
    console.error("the agent is running: stop it first, then reset the pin and start it again");
    return EXIT.error;
  }
  const quiet = { info() {}, warn() {}, error() {}, debug() {} };
  const state = await StateStore.open(stateDir, { log: quiet });
  const identity = state.identity();
  if (!identity) {
    console.error(`not enrolled (state dir ${stateDir}): there is no pin to reset`);
    return EXIT.notEnrolled;
  }
  const { repository_pin: pin, ...rest } = identity;
  await state.setIdentity(rest);
  await state.settled();
  console.log(
    pin
      ? `cleared the pin to ${displayUrl(pin.url)}; the next repository the server sets becomes the pinned one`
      : "this host had no repository pin",
  );
  return EXIT.ok;
}
