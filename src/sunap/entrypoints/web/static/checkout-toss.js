// Opens Toss's payment window (JS SDK v2) with what the server put on the button.
// The server confirms the payment when Toss sends the customer back: nothing here is trusted.
"use strict";
(function () {
  var button = document.getElementById("pay");
  var problem = document.getElementById("pay-error");
  if (!button) { return; }
  function fail() {
    problem.textContent = button.dataset.unavailable;
    problem.hidden = false;
    button.disabled = false;
  }
  button.addEventListener("click", function () {
    if (typeof window.TossPayments !== "function") { fail(); return; }
    var d = button.dataset;
    button.disabled = true;
    try {
      var toss = window.TossPayments(d.clientKey);
      var payment = toss.payment({ customerKey: d.customerKey || window.TossPayments.ANONYMOUS });
      Promise.resolve(payment.requestPayment({
        method: d.method,
        amount: { currency: d.currency, value: Number(d.amount) },
        orderId: d.orderId,
        orderName: d.orderName,
        successUrl: d.successUrl,
        failUrl: d.failUrl
      })).catch(function (error) {
        // Closing the window is the customer's choice, not a failure to show.
        if (error && error.code === "USER_CANCEL") { button.disabled = false; } else { fail(); }
      });
    } catch (error) {
      fail();
    }
  });
})();
