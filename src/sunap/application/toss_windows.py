"""How long Toss keeps an order open for the customer, and when we ask Toss again about an
order we closed, or would close, before Toss did.

Toss lets an authenticated payment (IN_PROGRESS) be confirmed for 10 minutes, then expires it
itself (Toss's docs: "confirm within 10 min else EXPIRED"; a READY window first gets 30 minutes
to be authenticated). Until then the order can still be paid at Toss without us: confirmed there
directly with the secret key, by the console or a second backend.
"""

from __future__ import annotations

from datetime import timedelta

TOSS_CONFIRM_WINDOW = timedelta(minutes=10)
# Once Toss's window has surely closed: its 10 minutes, and a minute for the clocks' and the
# look-up's slack. SUNAP_TOSS_RECHECK_SECONDS may set another (Deps.toss_recheck).
LOOK_AGAIN_AFTER = TOSS_CONFIRM_WINDOW + timedelta(minutes=1)
