import { expect, test } from "bun:test";
import { privateTmpOf, restoreTargetProblem } from "./restore-target.ts";

// /proc/self/mountinfo of a service with PrivateTmp=yes (systemd 252, Debian 12), cut to the lines that matter.
const PRIVATE_TMP = [
  "24 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro",
  "612 24 8:1 /tmp/systemd-private-6f0c2b-restic-fleet-agent.service-Xr1kQe/tmp /tmp rw,relatime shared:380 - ext4 /dev/sda1 rw",
  "613 24 8:1 /var/tmp/systemd-private-6f0c2b-restic-fleet-agent.service-9GmVhN/tmp /var/tmp rw,relatime shared:381 - ext4 /dev/sda1 rw",
].join("\n");
const PLAIN =
  "24 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n30 24 0:27 / /tmp rw,nosuid,nodev shared:5 - tmpfs tmpfs rw";

test("a private /tmp or /var/tmp is recognised from mountinfo; a plain tmpfs /tmp is not", () => {
  expect(privateTmpOf("/tmp/restore", PRIVATE_TMP)).toBe("/tmp");
  expect(privateTmpOf("/tmp", PRIVATE_TMP)).toBe("/tmp");
  expect(privateTmpOf("/var/tmp/x/y", PRIVATE_TMP)).toBe("/var/tmp");
  expect(privateTmpOf("/tmpfoo", PRIVATE_TMP)).toBeNull();
  expect(privateTmpOf("/var/lib/restic-fleet-agent/restore", PRIVATE_TMP)).toBeNull();
  expect(privateTmpOf("/tmp/restore", PLAIN)).toBeNull();
  expect(privateTmpOf("/tmp/restore", "")).toBeNull();
});

test("a restore into a private /tmp is refused before restic runs, naming the staging folder", async () => {
  const target = `/tmp/rf-never-made-${crypto.randomUUID()}/restore`;
  const staging = "/var/lib/restic-fleet-agent/restore";
  expect(await restoreTargetProblem(target, { staging, mountinfo: PRIVATE_TMP })).toBe(
    `cannot restore into ${target}: /tmp is this service's private /tmp (systemd PrivateTmp=yes), which is ` +
      "deleted when the agent stops, so the restored files would be lost; restic did not run. Pick a target " +
      `outside /tmp such as ${staging}`,
  );
});
