/** The JSON API client: same-origin cookie session, CSRF header on unsafe methods, typed errors. */
export interface ApiError {
  status: number;
  code: string;
  message: string;
  path?: string;
}

export class ApiFailure extends Error {
  constructor(readonly error: ApiError) {
    super(error.message);
  }
}

let csrf = "";
export const setCsrf = (token: string) => {
  csrf = token;
};

/** Called on a 401 from any call: the app shows the login page. */
export let onUnauthorized: () => void = () => {};
export const setOnUnauthorized = (fn: () => void) => {
  onUnauthorized = fn;
};

export async function api<T>(path: string, method = "GET", body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrf) headers["X-CSRF-Token"] = csrf;
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}`, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiFailure({ status: 0, code: "network", message: "the server cannot be reached; retry in a moment" });
  }
  if (res.status === 204) return undefined as T;
  const json = (await res.json().catch(() => null)) as (T & { error?: ApiError }) | null;
  if (!res.ok) {
    const e = json?.error;
    const retry = res.headers.get("Retry-After");
    const error: ApiError = {
      status: res.status,
      code: e?.code ?? "http_error",
      message: e?.message ?? `request failed (HTTP ${res.status})`,
      ...(e?.path ? { path: e.path } : {}),
    };
    if (retry && res.status === 429) error.message = `${error.message} (wait ${retry} s)`;
    if (res.status === 401 && !path.startsWith("/session")) onUnauthorized();
    throw new ApiFailure(error);
  }
  return json as T;
}

export interface Me {
  user: { user_id?: string; id?: string; username: string; role: "admin" | "viewer" };
  csrf_token: string;
}
