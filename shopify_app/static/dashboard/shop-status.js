// The footer line naming the store, its currency and its time zone.
import { api } from "../api.js";

export async function loadShopFooter() {
  const footer = document.getElementById("shop-status");
  try {
    const shop = await api("/api/shop");
    footer.textContent = `${shop.domain} · amounts in ${shop.currency} · dates in ${shop.iana_timezone}`;
  } catch (err) {
    footer.textContent = `Could not load your store: ${err.message}`;
  }
}
