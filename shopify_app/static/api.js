// Calls the app's /api with a fresh App Bridge session token on every request.
window.Retention = window.Retention || {};
(function (ns) {
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

  ns.api = async function (path, options = {}) {
    const headers = Object.assign({}, options.headers || {}, {
      Authorization: `Bearer ${await sessionToken()}`,
      Accept: "application/json",
    });
    const res = await fetch(path, Object.assign({}, options, { headers }));
    const body = res.headers.get("content-type", "").includes("application/json")
      ? await res.json()
      : null;
    if (!res.ok) {
      const message = body && body.error ? body.error.message : `HTTP ${res.status}`;
      const error = new Error(message);
      error.status = res.status;
      throw error;
    }
    return body;
  };
})(window.Retention);
