/** `baseline`: Meta as contracted; the whole pack passes with zero findings. */
import type { Scenario } from '../scenario.ts'

export const baseline: Scenario = {
  name: 'baseline',
  description: 'Meta as contracted: the whole pack passes with zero findings.',
  source: '../shared/meta/FACTS.md, Meta Postman collection',
  respond: (_req, next) => next(),
}
