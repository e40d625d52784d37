// The server's event stream (GET /api/v1/events, SSE): the same watcher the end-to-end tests use.
// The bench waits on published signals instead of polling where the API offers them.
export { EventWatcher as EventStream, type FleetEvent } from "../../e2e/fleet.ts";
