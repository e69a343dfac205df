// The Plan & billing page: a card collected by Stripe.js (a SetupIntent confirmed in the
// browser), then the plan chosen; the page waits for Stripe's confirmation to reach the gateway.
(function () {
  const key = document.getElementById("billing-js").dataset.key;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const message = document.getElementById("billing-message");
  const form = document.getElementById("card-form");
  const stripe = Stripe(key);
  const card = stripe.elements().create("card");
  let chosen = null, paying = false;

  const post = async (path, body) => {
    const r = await fetch("/billing/" + path, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
      body: JSON.stringify(body || {})});
    return {ok: r.ok, body: await r.json().catch(() => ({}))};
  };
  const say = (text, error) => { message.textContent = text; message.className = error ? "flash error" : "flash"; };

  const newCard = async () => {
    const setup = await post("setup");
    if (!setup.ok) throw new Error(setup.body.error || "Stripe is unavailable; try again");
    const result = await stripe.confirmCardSetup(setup.body.client_secret, {payment_method: {card}});
    if (result.error) throw new Error(result.error.message || "your card was declined");
    return result.setupIntent.payment_method;
  };

  const waitFor = async (plan) => {
    for (let i = 0; i < 60; i++) {
      const r = await fetch("/billing/status", {credentials: "same-origin"});
      if ((await r.json()).plan === plan) { location.reload(); return; }
      await new Promise((ok) => setTimeout(ok, 500));
    }
    say("Stripe has not confirmed yet; this page will show the new plan once it does.");
  };

  document.querySelectorAll("button.choose").forEach((b) => b.addEventListener("click", async () => {
    chosen = b;
    if (b.dataset.paid === "1") {
      document.getElementById("chosen-plan").textContent = b.closest("tr").dataset.plan;
      form.hidden = false; card.mount("#card-element");
      paying = false;
      return;
    }
    const r = await post("subscribe", {plan: b.dataset.planId});
    say(r.body.message || r.body.error, !r.ok);
  }));

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (paying) return;
    paying = true;
    say("Processing…");
    try {
      const pm = await newCard();
      if (chosen === null) {  // paying the open invoice
        const r = await post("pay", {payment_method: pm});
        if (!r.ok) throw new Error(r.body.error);
        say(r.body.message);
        return;
      }
      const r = await post("subscribe", {plan: chosen.dataset.planId, payment_method: pm});
      if (!r.ok) throw new Error(r.body.error);
      say(r.body.message);
      await waitFor(r.body.plan);
    } catch (err) {
      say(err.message, true);
    } finally { paying = false; }
  });

  const payOpen = document.getElementById("pay-open");
  if (payOpen) payOpen.addEventListener("click", () => {
    chosen = null; form.hidden = false; card.mount("#card-element");
    document.getElementById("chosen-plan").textContent = "the open invoice";
  });
})();
