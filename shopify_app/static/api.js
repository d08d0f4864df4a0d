// Calls the app's /api with a fresh App Bridge session token on every request.
async function sessionToken() {
  if (window.shopify && typeof window.shopify.idToken === "function") {
    return await window.shopify.idToken();
  }
  if (window.RETENTION_SESSION_TOKEN_URL) {
    // Local demo launcher only: the local process hands out tokens for the demo shop.
    const res = await fetch(window.RETENTION_SESSION_TOKEN_URL, { credentials: "same-origin" });
    if (!res.ok) throw new Error("could not get a demo session token");
    return (await res.json()).token;
  }
  throw new Error("App Bridge is not available; open the app from the Shopify admin");
}

// Session tokens live one minute: ask for a new one and retry once when the app says 401.
async function authorizedFetch(path, options = {}, accept = "application/json") {
  for (let attempt = 0; ; attempt += 1) {
    const headers = Object.assign({}, options.headers || {}, {
      Authorization: `Bearer ${await sessionToken()}`,
      Accept: accept,
    });
    const res = await fetch(path, Object.assign({}, options, { headers }));
    if (res.status !== 401 || attempt > 0) return res;
  }
}

async function errorFrom(res) {
  const isJson = (res.headers.get("content-type") || "").includes("application/json");
  const body = isJson ? await res.json().catch(() => null) : null;
  const message = body && body.error && body.error.message ? body.error.message : `HTTP ${res.status}`;
  const error = new Error(message);
  error.status = res.status;
  return error;
}

export async function api(path, options = {}) {
  const res = await authorizedFetch(path, options);
  if (!res.ok) throw await errorFrom(res);
  const isJson = (res.headers.get("content-type") || "").includes("application/json");
  return isJson ? await res.json() : null;
}

// Save a file the API returns (e.g. CSV) under *filename*; a plain link could not send the token.
export async function download(path, filename) {
  const res = await authorizedFetch(path, {}, "text/csv, */*");
  if (!res.ok) throw await errorFrom(res);
  const url = URL.createObjectURL(await res.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
