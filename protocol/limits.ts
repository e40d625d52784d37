/** 1 MiB per frame: a full log batch (500 lines) or a large snapshot list fits well below it. */
export const MAX_FRAME_BYTES = 1024 * 1024;

/** No message is nested deeper than 6 levels; 32 leaves room for restic's stats objects. */
export const MAX_JSON_DEPTH = 32;

/** Keys that could reach an object's prototype if anything down the line merges objects. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);
