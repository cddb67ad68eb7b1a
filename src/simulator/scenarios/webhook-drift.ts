/**
 * Webhook drift, one change each to the status webhooks the simulator sends after a send: a required
 * field gone, a type changed, `errors[]` reshaped. The API answers are the baseline's; only the
 * webhooks change. Each declares the finding the webhook judge must give (`webhooks.expects`).
 */
import type { Scenario, WebhookBehaviour } from '../scenario.ts'
import type { StatusSpec, WebhookBody } from '../webhooks.ts'

const STATUS = '$.entry[0].changes[0].value.statuses[0]'

/** A `webhooks.edit` that changes the status object of the webhooks for one status value only. */
function onStatus(which: StatusSpec['status'], edit: (status: Record<string, unknown>) => void): WebhookBehaviour['edit'] {
  return (body: WebhookBody, s: StatusSpec) => {
    if (s.status !== which) return
    const entry = (body.entry as { changes: { value: { statuses: Record<string, unknown>[] } }[] }[])[0]!
    edit(entry.changes[0]!.value.statuses[0]!)
  }
}

/** API answers as the baseline's: these scenarios only change webhooks. */
export const answerAsBaseline: Scenario['respond'] = (_req, next) => next()

export const webhookStatusFieldRemoved: Scenario = {
  name: 'webhook-status-field-removed',
  description: 'The delivered status webhook arrives without its `status` field; sent, read and failed are intact.',
  source: 'issue 19 ("a status without `status`" must be caught as breaking); FACTS.md (Meta changes webhook payloads without notice)',
  respond: answerAsBaseline,
  webhooks: {
    edit: onStatus('delivered', (st) => delete st.status),
    // Without `status` the judge cannot tell which status it is: the contract every status meets judges it.
    expects: [{ contract: 'webhook.statuses.any', check: 'schema-drift', severity: 'breaking', title: '`$.statuses[*].status` is required by the contract and is now missing', path: `${STATUS}.status`, webhook: 'delivered' }],
  },
}

export const webhookTypeChange: Scenario = {
  name: 'webhook-type-change',
  description: 'Failed status webhooks carry `errors[].code` as a string ("131026") instead of a number.',
  source: 'issue 19 ("`errors[].code` as a string" must be caught as breaking); Meta error catalogue (codes are integers)',
  respond: answerAsBaseline,
  webhooks: {
    edit: onStatus('failed', (st) => {
      for (const e of st.errors as Record<string, unknown>[]) e.code = String(e.code)
    }),
    expects: [{ contract: 'webhook.statuses.failed', check: 'schema-drift', severity: 'breaking', title: '`$.statuses[*].errors[*].code` was integer, is now string', path: `${STATUS}.errors[0].code`, webhook: 'failed' }],
  },
}

export const webhookErrorsReshaped: Scenario = {
  name: 'webhook-errors-reshaped',
  description: 'Failed status webhooks carry `errors` as one object instead of an array of them.',
  source: 'FACTS.md ("Asynchronous failures ... arrive as `failed` status webhooks with `errors[{code, title, message, error_data{details}, href}]`")',
  respond: answerAsBaseline,
  webhooks: {
    edit: onStatus('failed', (st) => {
      st.errors = (st.errors as unknown[])[0]
    }),
    expects: [
      { contract: 'webhook.statuses.failed', check: 'schema-drift', severity: 'breaking', title: '`$.statuses[*].errors` was array, is now object', path: `${STATUS}.errors`, webhook: 'failed' },
      // An object is not the errors[] a failed status must carry: the sequence judge says so too.
      { contract: 'webhook.statuses.failed', check: 'webhook-sequence', severity: 'warning', title: 'Failed status without errors[]', webhook: 'failed' },
    ],
  },
}
