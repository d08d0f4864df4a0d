"""Every lifecycle flow, by name: a plain mapping the sender, the settings page and templates read.

To add a flow, declare its parameters in `messaging.flow_params`, write a module with a
`FLOW = FlowDefinition(...)` and list it here. The flows never import this registry; what needs
every flow (the sender, template overrides, the settings page) does.
Priority (lower first under the frequency cap): checkout 10 > replenishment 20 > review 30 >
win-back 40.
"""

from __future__ import annotations

from shopify_app.messaging.flows import abandoned_checkout
from shopify_app.messaging.flows import replenishment
from shopify_app.messaging.flows import review_request
from shopify_app.messaging.flows import win_back
from shopify_app.messaging.outbox import FlowDefinition

FLOWS: dict[str, FlowDefinition] = {
    flow.name: flow
    for flow in (abandoned_checkout.FLOW, replenishment.FLOW, review_request.FLOW, win_back.FLOW)
}
