import { ApiFailure, api } from "../api.ts";
import { append, clear, field, h } from "../dom.ts";
import { bytes } from "../format.ts";
import type { FileList, Host, Snapshot, SnapshotEntry } from "../types.ts";
import { ago, emptyState, errorBox, failureText } from "../widgets.ts";

/** Entries asked per page; "Load more" asks for the next. */
const PAGE = 500;

const TYPE_TEXT: Record<SnapshotEntry["type"], [string, string]> = {
  dir: ["▸", "folder"],
  file: ["▫", "file"],
  symlink: ["↪", "link"],
  other: ["◇", "other"],
};

export interface BrowserInput {
  host: Host;
  /** Every host: an online one on the same repository can list the snapshot when this one is offline. */
  hosts: Host[];
  snapshot: Snapshot;
  isAdmin: boolean;
  /** Restore these paths (none: the whole snapshot), through the run form. */
  restore(snapshot: Snapshot, include?: string[]): void;
  close(): void;
}

/** The parent folders of a path, root first: "/srv/www" → ["/", "/srv", "/srv/www"]. */
export function crumbsOf(path: string): string[] {
  const parts = path.split("/").filter(Boolean);
  return ["/", ...parts.map((_, i) => `/${parts.slice(0, i + 1).join("/")}`)];
}

/**
 * One snapshot's files, a folder at a time, asked of the agent live: folders open on click (the
 * breadcrumbs go back up), and admins get a Download link on each entry (a folder comes as a .tar)
 * and tick entries to restore them. When the host is offline, the server says so (409) and another
 * online host can list it instead, if it uses the same repository (the server decides, and says
 * why not).
 */
export function snapshotBrowser(input: BrowserInput): HTMLElement {
  const { host, snapshot } = input;
  let path = "/";
  let via = "";
  const selected = new Set<string>();
  let items: SnapshotEntry[] = [];
  let cursor: string | null = null;
  let total = 0;
  let asked = 0;

  const crumbs = h("nav", { class: "file-crumbs", "aria-label": "Folder" });
  const notice = h("div", { "aria-live": "polite" });
  const listing = h("div", { class: "table-wrap" });
  const more = h("div", {});
  const selection = h("div", { class: "file-selection", "aria-live": "polite" });

  const query = (extra: Record<string, string>) =>
    new URLSearchParams({ ...extra, ...(via ? { via_host_id: via } : {}) }).toString();
  const base = `/hosts/${host.id}/snapshots/${encodeURIComponent(snapshot.id)}`;

  async function load(reset: boolean) {
    const ask = ++asked;
    const q = query({ path, limit: String(PAGE), ...(reset || !cursor ? {} : { cursor }) });
    if (reset) {
      clear(listing);
      listing.append(h("p", { class: "muted loading" }, `Listing ${path}…`));
      clear(more);
    }
    try {
      const page = await api<FileList>(`${base}/files?${q}`);
      if (ask !== asked) return; // another folder was opened meanwhile
      clear(notice);
      const through = input.hosts.find((x) => x.id === via);
      if (through) notice.append(h("p", { class: "muted via-note" }, `Listed through ${through.name}.`));
      items = reset ? page.items : [...items, ...page.items];
      cursor = page.next_cursor;
      total = page.total;
      render();
    } catch (err) {
      if (ask !== asked) return;
      clear(listing);
      clear(more);
      showFailure(err);
    }
  }

  /**
   * An offline host (409) offers the other online hosts to list the snapshot through; a refused
   * one (another repository) shows the server's reason and offers them again.
   */
  function showFailure(err: unknown) {
    clear(notice);
    notice.append(errorBox(failureText(err)));
    const offline = err instanceof ApiFailure && err.error.status === 409;
    const others = input.hosts.filter((x) => x.id !== host.id && x.online);
    if ((offline || via) && others.length > 0) {
      const pick = h("select", { name: "via_host_id" }, ...others.map((x) => h("option", { value: x.id }, x.name)));
      if (via) pick.value = via;
      notice.append(
        h(
          "form",
          {
            class: "via-form",
            onsubmit: (e: Event) => {
              e.preventDefault();
              via = pick.value;
              void load(true);
            },
          },
          field(
            "Browse through another online host",
            pick,
            "It must use the same repository as this host; the server refuses any other.",
          ),
          h("button", { type: "submit" }, "Browse through it"),
        ),
      );
    }
    if (via) {
      notice.append(
        h(
          "button",
          {
            type: "button",
            class: "secondary",
            onclick: () => {
              via = "";
              void load(true);
            },
          },
          `Ask ${host.name} itself again`,
        ),
      );
    }
  }

  function open(to: string) {
    path = to;
    cursor = null;
    renderCrumbs();
    void load(true);
  }

  function renderCrumbs() {
    clear(crumbs);
    const chain = crumbsOf(path);
    chain.forEach((p, i) => {
      const name = p === "/" ? `${snapshot.short_id}:/` : (p.split("/").at(-1) ?? p);
      const last = i === chain.length - 1;
      if (i > 1) crumbs.append(h("span", { class: "sep", "aria-hidden": "true" }, "/"));
      crumbs.append(
        last
          ? h("span", { "aria-current": "location" }, name)
          : h("button", { type: "button", class: "link", onclick: () => open(p) }, name),
      );
    });
  }

  const downloadHref = (e: SnapshotEntry) => `/api/v1${base}/download?${query({ path: e.path })}`;

  function render() {
    clear(listing);
    clear(more);
    if (items.length === 0) {
      listing.append(emptyState("This folder is empty."));
    } else {
      listing.append(
        h(
          "table",
          { class: "files" },
          h("caption", { class: "visually-hidden" }, `Files in ${path}`),
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              input.isAdmin ? h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Select")) : null,
              ...["Name", "Type", "Size", "Modified", ""].map((t) => h("th", { scope: "col" }, t)),
            ),
          ),
          h("tbody", {}, items.map(row)),
        ),
      );
    }
    if (cursor) {
      more.append(
        h(
          "button",
          { type: "button", class: "secondary", onclick: () => void load(false) },
          `Load more (${items.length} of ${total} shown)`,
        ),
      );
    }
    renderSelection();
  }

  function row(e: SnapshotEntry) {
    const [icon, word] = TYPE_TEXT[e.type] ?? ["◇", e.type];
    const box = h("input", {
      type: "checkbox",
      "aria-label": `Select ${e.name}`,
      checked: selected.has(e.path),
      onchange: (ev: Event) => {
        if ((ev.target as HTMLInputElement).checked) selected.add(e.path);
        else selected.delete(e.path);
        renderSelection();
      },
    });
    return h(
      "tr",
      { "data-path": e.path },
      input.isAdmin ? h("td", { class: "pick" }, box) : null,
      h(
        "td",
        { "data-label": "Name", class: "name" },
        h("span", { class: "file-icon", "aria-hidden": "true" }, icon),
        " ",
        e.type === "dir"
          ? h("button", { type: "button", class: "link", onclick: () => open(e.path) }, e.name)
          : h("span", {}, e.name),
        e.type === "symlink" && e.link_target ? h("span", { class: "muted" }, ` → ${e.link_target}`) : null,
      ),
      h("td", { "data-label": "Type" }, word),
      h("td", { "data-label": "Size" }, e.type === "dir" ? "–" : bytes(e.size)),
      h("td", { "data-label": "Modified" }, e.mtime ? ago(e.mtime) : "–"),
      // Downloading reads contents, as a restore does: admins only (the server audits it).
      h(
        "td",
        { class: "actions" },
        input.isAdmin &&
          h(
            "a",
            {
              class: "button secondary",
              href: downloadHref(e),
              download: true,
              "aria-label": `Download ${e.name}${e.type === "dir" ? " as .tar" : ""}`,
            },
            e.type === "dir" ? "Download .tar" : "Download",
          ),
      ),
    );
  }

  function renderSelection() {
    clear(selection);
    if (!input.isAdmin) return;
    const paths = [...selected].sort();
    append(selection, [
      paths.length
        ? h(
            "p",
            {},
            `${paths.length} selected: `,
            paths.map((p, i) => [i > 0 ? ", " : "", h("code", {}, p)]),
          )
        : h("p", { class: "muted" }, "Tick files or folders to restore only those."),
      h(
        "div",
        { class: "actions" },
        h(
          "button",
          { type: "button", disabled: paths.length === 0, onclick: () => input.restore(snapshot, paths) },
          "Restore selection…",
        ),
        paths.length
          ? h(
              "button",
              {
                type: "button",
                class: "secondary",
                onclick: () => {
                  selected.clear();
                  render();
                },
              },
              "Clear selection",
            )
          : null,
        h(
          "button",
          { type: "button", class: "secondary", onclick: () => input.restore(snapshot) },
          "Restore whole snapshot…",
        ),
      ),
    ]);
  }

  const card = h(
    "section",
    { class: "card file-browser", "aria-labelledby": "files-h", "data-browse": snapshot.short_id },
    h(
      "div",
      { class: "page-head" },
      h("h2", { id: "files-h" }, `Files in snapshot ${snapshot.short_id}`),
      h("button", { type: "button", class: "secondary", onclick: input.close }, "Close"),
    ),
    h(
      "p",
      { class: "facts" },
      `${new Date(snapshot.time).toLocaleString()} · ${snapshot.paths.join(", ")}`,
      host.online ? "" : ` · ${host.name} is offline`,
    ),
    crumbs,
    notice,
    listing,
    more,
    selection,
  );
  renderCrumbs();
  void load(true);
  return card;
}
