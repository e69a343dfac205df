// The Credit page: a top-up with the card on file, or a new card collected by Stripe.js (a
// SetupIntent confirmed in the browser, as on the billing page), then charged by the gateway.
(function () {
  const script = document.getElementById("credit-js");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const message = document.getElementById("topup-message");
  const form = document.getElementById("topup-form");
  const mount = document.getElementById("card-element");
  const toggle = document.getElementById("new-card");
  const stripe = Stripe(script.dataset.key);
  const card = stripe.elements().create("card");
  let mounted = false, paying = false;
  const useNewCard = () => script.dataset.card !== "1" || (toggle && toggle.checked);
  const show = () => {
    mount.hidden = !useNewCard();
    if (!mount.hidden && !mounted) { card.mount("#card-element"); mounted = true; }
  };
  if (toggle) toggle.addEventListener("change", show);
  show();

  const post = async (path, body) => {
    const r = await fetch(path, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
      body: JSON.stringify(body || {})});
    return {ok: r.ok, body: await r.json().catch(() => ({}))};
  };
  const say = (text, error) => { message.textContent = text; message.className = error ? "flash error" : "flash"; };

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (paying) return;
    paying = true;
    say("Processing…");
    try {
      let pm = null;
      if (useNewCard()) {
        const setup = await post("/billing/setup");
        if (!setup.ok) throw new Error(setup.body.error || "Stripe is unavailable; try again");
        const result = await stripe.confirmCardSetup(setup.body.client_secret, {payment_method: {card}});
        if (result.error) throw new Error(result.error.message || "your card was declined");
        pm = result.setupIntent.payment_method;
      }
      const r = await post("/credit/topup", {amount: document.getElementById("topup-amount").value, payment_method: pm});
      if (!r.ok) throw new Error(r.body.error);
      say(r.body.message);
      document.getElementById("credit-balance").textContent = "$" + Number(r.body.balance_usd).toFixed(2);
      setTimeout(() => location.reload(), 1500);
    } catch (err) {
      say(err.message, true);
    } finally { paying = false; }
  });
})();
