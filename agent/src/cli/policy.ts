import type { ReportedHostPolicy } from "../../../protocol/index.ts";
import { displayUrl } from "../policy/policy-check.ts";
import { StateStore } from "../state/state-store.ts";
import { EXIT } from "./help.ts";

/** `restic-fleet-agent policy`: the policy in force, the repository pin, and --reset-pin. */
export async function policyCommand(stateDir: string, policy: ReportedHostPolicy, resetPin: boolean): Promise<number> {
  const quiet = { info() {}, warn() {}, error() {}, debug() {} };
  const state = await StateStore.open(stateDir, { log: quiet });
  const identity = state.identity();
  const pin = identity?.repository_pin;
  if (resetPin) {
    if (!identity) {
      console.error(`not enrolled (state dir ${stateDir}): there is no pin to reset`);
      return EXIT.notEnrolled;
    }
    const { repository_pin: _, ...rest } = identity;
    await state.setIdentity(rest);
    await state.settled();
    console.log(
      pin
        ? `cleared the pin to ${displayUrl(pin.url)}; the next repository the server sets becomes the pinned one ` +
            "(restart the agent if it runs)"
        : "this host had no repository pin",
    );
    return EXIT.ok;
  }
  const { source, ...keys } = policy;
  console.log(`policy from ${source}:`);
  console.log(JSON.stringify(keys, null, 2));
  if (policy.repositories === "first") {
    console.log(pin ? `pinned to ${displayUrl(pin.url)} since ${pin.pinned_at}` : "not pinned yet");
  }
  return EXIT.ok;
}
