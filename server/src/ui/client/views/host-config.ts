import { ApiFailure, api } from "../api.ts";
import { clear, field, h, showFormError } from "../dom.ts";
import type { Host } from "../types.ts";

/** Id → name of the policies and repositories, to say where the host's repository comes from. */
interface Names {
  policyNames: ReadonlyMap<string, string>;
  repoNames: ReadonlyMap<string, string>;
}

/** Where the repository the host uses comes from: its own settings, a policy, or nowhere (yet). */
function repositorySource(host: Host, { policyNames, repoNames }: Names) {
  const own = host.config.repo_url !== null;
  const line = (...parts: Array<Node | string>) => h("p", { class: "repo-source" }, ...parts);
  if (own) {
    return line(
      "Uses this host's own settings below",
      host.policy_repository_id ? " (they win over the policy's repository)." : ".",
    );
  }
  if (host.policy_conflict) return line("None: its policies conflict (see above), so nothing is sent to it.");
  if (host.policy_repository_id && host.repository_policy_id) {
    return line(
      "From policy ",
      h(
        "a",
        { href: `#/policies/${host.repository_policy_id}` },
        policyNames.get(host.repository_policy_id) ?? host.repository_policy_id,
      ),
      ": repository ",
      h("a", { href: "#/repositories" }, repoNames.get(host.policy_repository_id) ?? host.policy_repository_id),
      ". Settings saved below would replace it for this host.",
    );
  }
  return line("Not set: set it below, or give the host a policy with a repository.");
}

/**
 * The host's repository settings, into `box`: read-only for viewers, a form for admins. The
 * secrets are write-only. After a save it renders again from the host the server returned, and
 * hands that to `saved`.
 */
export function renderHostConfig(
  box: HTMLElement,
  hostId: string,
  host: Host,
  isAdmin: boolean,
  saved: (host: Host) => void,
  names: Names = { policyNames: new Map(), repoNames: new Map() },
): void {
  clear(box);
  const c = host.config;
  box.append(h("h2", { id: "cfg-h" }, "Repository"), repositorySource(host, names));
  if (!isAdmin) {
    box.append(
      h("p", {}, `URL: ${c.repo_url ?? "not set"}`),
      h("p", {}, `Password: ${c.has_repo_password ? "set" : "not set"}`),
    );
    return;
  }
  const url = h("input", {
    name: "repo_url",
    value: c.repo_url ?? "",
    placeholder: "/srv/restic, sftp:user@host:/path, s3:…",
  });
  const password = h("input", {
    name: "repo_password",
    type: "password",
    autocomplete: "new-password",
    placeholder: c.has_repo_password ? "set — type to change" : "not set",
  });
  const user = h("input", { name: "repo_username", value: c.repo_username ?? "" });
  const credential = h("input", {
    name: "repo_credential",
    type: "password",
    autocomplete: "new-password",
    placeholder: c.has_repo_credential ? "set — type to change" : "not set",
  });
  const shell = h("input", { name: "hook_shell", value: c.hook_shell ?? "", placeholder: "/bin/sh -c" });
  const ok = h("p", { class: "ok-text", role: "status" });
  const form = h(
    "form",
    {},
    field("Repository URL", url),
    field(`Password (${c.has_repo_password ? "set" : "not set"}; write-only)`, password),
    field("Backend user name", user),
    field(`Backend credential (${c.has_repo_credential ? "set" : "not set"}; write-only)`, credential),
    field("Hook shell", shell),
    h("p", { class: "form-error", role: "alert" }),
    ok,
    h("button", { type: "submit" }, "Save repository settings"),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body: Record<string, string> = { repo_username: user.value, hook_shell: shell.value };
    // The URL is shown with any password in it masked: send it only when it was edited.
    if (url.value.trim() !== (c.repo_url ?? "")) body.repo_url = url.value.trim();
    // Secrets are only sent when typed: an empty box means "leave as is".
    if (password.value) body.repo_password = password.value;
    if (credential.value) body.repo_credential = credential.value;
    try {
      const updated = await api<Host>(`/hosts/${hostId}/config`, "PUT", body);
      saved(updated);
      renderHostConfig(box, hostId, updated, isAdmin, saved, names);
      (box.querySelector(".ok-text") as HTMLElement).textContent = "Saved; the agent has the new settings.";
    } catch (err) {
      showFormError(form, err instanceof ApiFailure ? err.error : { message: String(err) });
    }
  });
  box.append(form);
}
