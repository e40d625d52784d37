import { Hono } from "hono";
import * as v from "valibot";
import { RepoEnv } from "../../../protocol/index.ts";
import type { Domain } from "../domain/domain.ts";
import type { AppEnv } from "../http/auth.ts";
import { jsonBody } from "../http/validate.ts";

// Shapes only; the rules (names, `{host}`, a shared repository's password) are the domain's.
const Secret = v.pipe(v.string(), v.maxLength(4096));
const fields = {
  name: v.pipe(v.string(), v.maxLength(1024)),
  url: v.pipe(v.string(), v.maxLength(4096)),
  password: v.optional(Secret),
  username: v.optional(v.pipe(v.string(), v.maxLength(1024))),
  credential: v.optional(Secret),
  auto_init: v.optional(v.boolean()),
  // restic's variables for the backend (protocol/repository-backends.ts); which names fit the URL is the domain's rule.
  env: v.optional(RepoEnv),
};
// Strict: a misspelt `pasword` is refused by name, never dropped (a shared repository would
// then be refused for its missing password, or worse, a template would get generated ones).
export const NewRepository = v.strictObject(fields);
export const RepositoryPatch = v.partial(v.strictObject(fields));
export const TestRequest = v.strictObject({ host_id: v.pipe(v.string(), v.minLength(1), v.maxLength(200)) });

/** Mounted at /api/v1/repositories (DESIGN §8.3). */
export function repositoryRoutes(domain: Domain) {
  const repos = domain.repositories;
  return (
    new Hono<AppEnv>()
      .get("/", (c) => c.json({ items: repos.list(), next_cursor: null }))
      .post("/", async (c) => {
        const body = await jsonBody(c, NewRepository);
        return c.json(repos.create(c.get("actor"), body), 201);
      })
      .get("/:id", (c) => c.json(repos.show(c.req.param("id"))))
      .patch("/:id", async (c) => {
        const body = await jsonBody(c, RepositoryPatch);
        return c.json(repos.update(c.get("actor"), c.req.param("id"), body));
      })
      .delete("/:id", (c) => {
        repos.remove(c.get("actor"), c.req.param("id"));
        return c.body(null, 204);
      })
      // Who runs its prune and check, their last results, and its recent ticks (DESIGN §8.3).
      .get("/:id/maintenance", (c) => c.json(domain.maintenance.show(c.req.param("id"))))
      .get("/:id/keys", (c) => c.json(repos.keys(c.get("actor"), c.req.param("id"))))
      // The hosts it is given to, online first: where a test connection is best run.
      .get("/:id/hosts", (c) => c.json({ items: domain.repositoryTest.users(c.req.param("id")), next_cursor: null }))
      .post("/:id/test", async (c) => {
        const body = await jsonBody(c, TestRequest);
        return c.json(await domain.repositoryTest.test(c.get("actor"), c.req.param("id"), body.host_id));
      })
  );
}
