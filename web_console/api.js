// fetch() wrapper for the hub's JSON API. The session cookie is HttpOnly and
// same-origin, so the browser sends it; JS never sees it.

import { noteServerDate } from "./format.js";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

/**
 * Call the API. Resolves to the parsed JSON body (or null for 204), rejects with
 * ApiError carrying the hub's {error: {code, message}}; a network failure has
 * status 0 and code "network".
 */
export async function api(method, path, body) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, "network", String(err && err.message ? err.message : err));
  }
  noteServerDate(res.headers.get("Date"));
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const err = data && data.error;
    const detail = data && typeof data.detail === "string" ? data.detail : "";
    throw new ApiError(
      res.status,
      (err && err.code) || `http_${res.status}`,
      (err && err.message) || detail || `${res.status} ${res.statusText}`,
    );
  }
  return data;
}

export const login = (username, password) => api("POST", "/api/auth/login", { username, password });
export const logout = () => api("POST", "/api/auth/logout");
export const me = () => api("GET", "/api/me");
export const config = () => api("GET", "/api/config");
export const getCall = (id) => api("GET", `/api/calls/${encodeURIComponent(id)}`);
export const saveRequest = (id, request) =>
  api("PUT", `/api/calls/${encodeURIComponent(id)}/request`, request);

/** One page of the call log; `filters` holds town/kiosk/status/since/until/limit/cursor. */
export function listCalls(filters = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(filters)) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  const qs = q.toString();
  return api("GET", `/api/calls${qs ? `?${qs}` : ""}`);
}

/** "?a=1&b=2" from the non-empty values of `params`, or "" when none. */
export function query(params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "" && v !== false) q.set(k, String(v));
  }
  const qs = q.toString();
  return qs ? `?${qs}` : "";
}

// --- tracked requests, categories, numbers and exports (issue 4) ---------------------

const rid = (id) => encodeURIComponent(id);
export const listRequests = (params = {}) => api("GET", `/api/requests${query(params)}`);
export const getRequest = (id) => api("GET", `/api/requests/${rid(id)}`);
export const updateRequest = (id, changes) => api("PATCH", `/api/requests/${rid(id)}`, changes);
export const addNote = (id, text) => api("POST", `/api/requests/${rid(id)}/notes`, { text });
export const getCategories = (town) => api("GET", `/api/towns/${rid(town)}/categories`);
export const putCategories = (town, categories) =>
  api("PUT", `/api/towns/${rid(town)}/categories`, { categories });
export const stats = (params = {}) => api("GET", `/api/stats${query(params)}`);

/** Where each export lives; the browser downloads it with the session cookie. */
export const EXPORTS = {
  calls_csv: "/api/calls/export.csv",
  requests_csv: "/api/requests/export.csv",
  open311: "/api/open311/requests.json",
};
export const exportUrl = (kind, params = {}) => EXPORTS[kind] + query(params);

// --- the queue (issue 3): who is on duty, and the town's queue settings -------------

export const presence = (town) => api("GET", `/api/presence${query({ town })}`);
export const getQueueSettings = (town) => api("GET", `/api/towns/${rid(town)}/settings`);
export const putQueueSettings = (town, values) => api("PUT", `/api/towns/${rid(town)}/settings`, values);
