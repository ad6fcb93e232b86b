// While a payment is on its way, the wallet follows it: the page fetches itself every
// few seconds and swaps its balance and lists, until the server no longer marks it as
// waiting (the credit landed, or the payment failed), for ten minutes at most.
const live = document.getElementById("wallet-live");
if (live && live.hasAttribute("data-watch")) {
  const started = Date.now();
  const follow = async () => {
    try {
      const response = await fetch(location.href, { headers: { "Accept": "text/html" }, credentials: "same-origin" });
      if (response.ok) {
        const page = new DOMParser().parseFromString(await response.text(), "text/html");
        const fresh = page.getElementById("wallet-live");
        if (fresh) {
          live.innerHTML = fresh.innerHTML;
          if (!fresh.hasAttribute("data-watch")) {
            live.removeAttribute("data-watch");
            return;
          }
        }
      }
    } catch (_) {
      // Offline for a moment: the next try catches up.
    }
    if (Date.now() - started < 600000) setTimeout(follow, 2000);
  };
  setTimeout(follow, 2000);
}
