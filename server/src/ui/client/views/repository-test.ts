import type { RepositoryTestResult } from "../../../domain/repository-test.ts";
import { ApiFailure, api } from "../api.ts";
import { clear, field, h } from "../dom.ts";
import type { Host, List, Repository } from "../types.ts";

interface RepoHost {
  id: string;
  name: string;
  online: boolean;
}

/** One result line: ✓ or ✗, what it is, and a word on what it means. */
function check(ok: boolean, what: string, no: string) {
  return h(
    "li",
    { class: ok ? "test-ok" : "test-bad", "data-check": what },
    h("span", { class: "test-mark", "aria-hidden": "true" }, ok ? "✓" : "✗"),
    " ",
    h("span", {}, ok ? what : `${what}: ${no}`),
  );
}

function results(r: RepositoryTestResult, hostName: string) {
  const locks = r.locks;
  const lockText = !locks
    ? "not listed (restic must open the repository first)"
    : locks.count === 0
      ? "no locks"
      : `${locks.count} lock${locks.count === 1 ? "" : "s"}${locks.stale ? `, ${locks.stale} stale (run an unlock job)` : ", held by a running restic"}`;
  return h(
    "div",
    { class: "test-results", role: "status" },
    h("p", {}, `Tested on ${hostName}:`),
    h(
      "ul",
      { class: "test-checks" },
      check(r.reachable, "Reachable", "restic could not reach the backend"),
      check(r.initialised, "Initialised", r.reachable ? "no repository there yet (run an init job)" : "unknown"),
      check(r.password_ok, "Password right", r.initialised ? "no key opens with this password" : "not tried"),
      h(
        "li",
        { class: locks && locks.count > 0 ? "test-warn" : locks ? "test-ok" : "test-skip", "data-check": "Locks" },
        h("span", { class: "test-mark", "aria-hidden": "true" }, locks && locks.count === 0 ? "✓" : locks ? "!" : "–"),
        ` Locks: ${lockText}`,
      ),
    ),
    r.error ? h("pre", { class: "test-error" }, r.error) : null,
  );
}

/** Test connection: pick a host (those that use the repository first), run, show the four results. */
export async function repositoryTestCard(r: Repository, close: () => void) {
  const [users, all] = await Promise.all([
    api<List<RepoHost>>(`/repositories/${r.id}/hosts`),
    // Only online hosts can test it: the server lists those (500 at most, by name).
    api<List<Host>>("/hosts?online=true&sort=name&limit=500"),
  ]);
  const using = new Set(users.items.map((u) => u.id));
  const others = all.items.filter((x) => x.online && !using.has(x.id));
  const onlineUsers = users.items.filter((u) => u.online);
  const picker = h(
    "select",
    { name: "host_id" },
    users.items.length > 0
      ? h(
          "optgroup",
          { label: "Hosts that use it" },
          users.items.map((u) =>
            h("option", { value: u.id, disabled: !u.online }, u.online ? u.name : `${u.name} (offline)`),
          ),
        )
      : null,
    others.length > 0
      ? h(
          "optgroup",
          { label: "Other online hosts" },
          others.map((x) => h("option", { value: x.id }, x.name)),
        )
      : null,
  );
  picker.value = onlineUsers[0]?.id ?? others[0]?.id ?? "";
  const out = h("div", { "aria-live": "polite" });
  const run = h("button", { type: "submit", disabled: picker.value === "" }, "Run test");
  const form = h(
    "form",
    { class: "card repo-test", "aria-label": `Test connection to ${r.name}` },
    h("h2", {}, `Test ${r.name}`),
    h(
      "p",
      { class: "muted" },
      "The host's agent opens the repository with the settings held here, read-only: reachable, initialised, password right, locks.",
    ),
    field("Host", picker, picker.value === "" ? "No host is online: start an agent first." : undefined),
    out,
    h("div", { class: "actions" }, run, h("button", { type: "button", class: "secondary", onclick: close }, "Close")),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const hostName = picker.selectedOptions[0]?.textContent ?? picker.value;
    clear(out);
    out.append(h("p", { class: "muted" }, `Testing on ${hostName}…`));
    run.disabled = true;
    try {
      const res = await api<RepositoryTestResult>(`/repositories/${r.id}/test`, "POST", { host_id: picker.value });
      clear(out);
      out.append(results(res, hostName));
    } catch (err) {
      clear(out);
      out.append(
        h("p", { class: "error", role: "alert" }, err instanceof ApiFailure ? err.error.message : String(err)),
      );
    } finally {
      run.disabled = false;
    }
  });
  return form;
}
